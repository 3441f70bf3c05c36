"""Tests that talk to a real Docker engine (fixtures in conftest.py).

A package like the other test folders, so that its conftest does not take the name
`conftest` that tests elsewhere import helpers from."""

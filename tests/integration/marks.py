"""Marks that test modules share."""

from __future__ import annotations

import pytest

#: Tests that validate against a JSON Schema run on one pytest-xdist worker (scripts/test runs
#: ``-n 2 --dist loadgroup``): importing jsonschema costs seconds (the rfc3987-syntax package it
#: loads builds its grammars at import), so these tests import it when they run, and only one
#: worker pays for it. Without xdist the mark does nothing.
uses_jsonschema = pytest.mark.xdist_group("jsonschema")

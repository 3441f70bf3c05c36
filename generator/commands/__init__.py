"""CLI commands, one module per area. Modules that talk to Docker import python-on-whales
inside their command functions only, so generate/check/lint/schema/list stay fast."""

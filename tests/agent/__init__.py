"""The agent end to end, without an engine: the scripted model and the suite."""

"""Everything that talks to a Docker engine. Imported only by commands that need Docker;
python-on-whales is imported lazily inside this package (it costs ~0.3 s)."""

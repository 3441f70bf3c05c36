"""How long a docker command may run before it is stopped: the seed's figures (a default of
120 s, 600 s for a build), held here once. This module imports nothing, so the CLI can name
a default in its options without loading the Docker layer."""

DEFAULT_TIMEOUT = 120.0
BUILD_TIMEOUT = 600.0
#: a reachable engine answers `docker version` in well under a second; a hung TCP host should
#: not make `doctor` wait the full default timeout
CONNECT_TIMEOUT = 30.0

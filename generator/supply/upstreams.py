"""Base URLs of every upstream the supply commands talk to, each one overridable.

Overrides come from ``SANDBOX_UPSTREAM_<NAME>`` or ``--upstream NAME=URL`` (the option wins),
so tests and mirrors can point any of them at another server.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from generator.errors import UsageError

DEFAULTS: dict[str, str] = {
    #: release downloads; a spec URL under it names a GitHub repository's releases
    "github": "https://github.com",
    "github_api": "https://api.github.com",
    "pypi": "https://pypi.org",
    "npm": "https://registry.npmjs.org",
    "crates": "https://crates.io",
    "goproxy": "https://proxy.golang.org",
    "node_index": "https://nodejs.org/dist",
    "python_index": "https://www.python.org",
    "go_index": "https://go.dev",
    #: Docker Hub's registry API (images without a registry host in their name)
    "registry": "https://registry-1.docker.io",
}


@dataclass(frozen=True)
class Upstreams:
    urls: Mapping[str, str]

    def __getitem__(self, name: str) -> str:
        return self.urls[name]

    def registry_for(self, host: str | None) -> str:
        """API base of the registry holding an image (None: Docker Hub)."""
        return self.urls["registry"] if host in (None, "docker.io", "index.docker.io") else f"https://{host}"

    @classmethod
    def from_env(cls, overrides: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> Upstreams:
        environ = os.environ if environ is None else environ
        urls = dict(DEFAULTS)
        for name in DEFAULTS:
            value = environ.get(f"SANDBOX_UPSTREAM_{name.upper()}")
            if value:
                urls[name] = value
        for item in overrides:
            name, sep, value = item.partition("=")
            if not sep or name not in DEFAULTS or not value.startswith(("http://", "https://")):
                raise UsageError(f"--upstream {item!r}: expected NAME=http(s)://..., NAME one of {', '.join(DEFAULTS)}")
            urls[name] = value
        return cls({name: url.rstrip("/") for name, url in urls.items()})

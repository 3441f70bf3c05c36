"""Where uv is: the `uv` wheel from PyPI, a dependency of this package.

`sandbox lock` resolves uv tools with uv itself (the client that checks the hashes in the
build), at the version pyproject.toml allows, so that a lock never depends on whichever uv
a machine happens to have on PATH.
"""

from __future__ import annotations

from generator.errors import UpstreamError


def uv_binary() -> str:
    """The path of the uv executable installed with this package."""
    try:
        from uv import find_uv_bin
    except ImportError:
        raise UpstreamError("the uv package is not installed (pip install uv); it locks the uv tools' dependencies") from None
    try:
        return find_uv_bin()
    except FileNotFoundError as exc:
        raise UpstreamError(f"the uv package is installed but its executable is missing: {exc}") from None

"""Where the generator's own files and its per-user cache live.

Standard library only: the result cache (generator/cache.py) fingerprints these files
before anything heavy is imported.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).parent
#: the lock file, beside the spec
LOCK_NAME = "sandbox.lock"
_PACKAGE_TEMPLATES = PACKAGE_DIR / "templates"
_REPO_TEMPLATES = PACKAGE_DIR.parent / "templates"
_PACKAGE_FILES = PACKAGE_DIR / "default" / "files"
_REPO_FILES = PACKAGE_DIR.parent / "files"


def templates_dir() -> Path:
    """Templates ship inside the wheel; in a checkout they live at the repo root."""
    return _PACKAGE_TEMPLATES if _PACKAGE_TEMPLATES.is_dir() else _REPO_TEMPLATES


def script_in_context(name: str) -> str:
    """Where a generator script sits in the build context, for the base stage's COPY."""
    return f"files/{name}"


def generator_script(name: str) -> Path:
    """A script of the generator's files/ that generated Dockerfiles COPY (shipped inside
    the wheel as the default spec's files; in a checkout at the repo root)."""
    return (_PACKAGE_FILES if _PACKAGE_FILES.is_dir() else _REPO_FILES) / name


def user_cache_dir(name: str) -> Path | None:
    """$XDG_CACHE_HOME/opencode-sandbox/<name> (created), or None when it cannot be made:
    every cache is an optimisation, so a read-only home only makes runs slower."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = Path(root) / "opencode-sandbox" / name
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return directory

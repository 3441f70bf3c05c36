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
#: where the image carries its CycloneDX SBOM (read-only, root's), and where the build
#: context holds it for the COPY (a path no `files:` entry may take)
SBOM_IMAGE_PATH = "/usr/share/sandbox/sbom.cdx.json"
SBOM_CONTEXT_PATH = "sandbox-sbom.cdx.json"
_PACKAGE_TEMPLATES = PACKAGE_DIR / "templates"
_REPO_TEMPLATES = PACKAGE_DIR.parent / "templates"


def templates_dir() -> Path:
    """Templates ship inside the wheel; in a checkout they live at the repo root."""
    return _PACKAGE_TEMPLATES if _PACKAGE_TEMPLATES.is_dir() else _REPO_TEMPLATES


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

"""Where the generator's own files and its per-user cache live.

Standard library only: the result cache (generator/cache.py) fingerprints these files
before anything heavy is imported.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PACKAGE_DIR = Path(__file__).parent
#: the lock file, beside the spec
LOCK_NAME = "sandbox.lock"
#: where the package managers' own lock files live (locks/TOOL/NAME), beside sandbox.lock
LOCKS_DIR = "locks"
#: where the image carries its CycloneDX SBOM (read-only, root's), and where the build
#: context holds it for the COPY (a path no `files:` entry may take)
SBOM_IMAGE_PATH = "/usr/share/sandbox/sbom.cdx.json"
SBOM_CONTEXT_PATH = "sandbox-sbom.cdx.json"
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


def _xdg_home(variable: str, default: str) -> str:
    """$VARIABLE if it is an absolute path, else ~/DEFAULT: the XDG Base Directory spec says
    a relative path in these variables is invalid and must be ignored (it would put the
    cache wherever the command happens to run, inside a project too)."""
    value = os.environ.get(variable, "")
    return value if os.path.isabs(value) else os.path.join(os.path.expanduser("~"), default)


def user_cache_dir(name: str) -> Path | None:
    """$XDG_CACHE_HOME/opencode-sandbox/<name> (created, mode 0700), or None when it cannot be
    made or is not private to this user: every cache is an optimisation, so a read-only home
    only makes runs slower, and what a cache holds (compiled templates, above all) is only
    trusted when no other user could have written it."""
    return _private_dir(_xdg_home("XDG_CACHE_HOME", ".cache"), name)


def user_state_dir(name: str) -> Path | None:
    """$XDG_STATE_HOME/opencode-sandbox/<name>, made and checked as user_cache_dir: where the
    key that signs cache entries lives, away from the caches it vouches for."""
    return _private_dir(_xdg_home("XDG_STATE_HOME", os.path.join(".local", "state")), name)


def _private_dir(root: str, name: str) -> Path | None:
    ours = Path(root) / "opencode-sandbox"
    directory = ours / name
    try:
        for level in (ours, directory):
            level.mkdir(mode=0o700, parents=level is ours, exist_ok=True)
            _restrict(level)
    except OSError:
        return None
    return directory if private_to_user(ours) and private_to_user(directory) else None


def _restrict(directory: Path) -> None:
    """Our own cache directory made by a umask that lets the group write (or by an older
    release): take the group's and others' write away. Entries are still checked one by one."""
    info = directory.lstat()
    ours = not stat.S_ISLNK(info.st_mode) and info.st_uid == getattr(os, "getuid", lambda: info.st_uid)()
    if ours and info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        directory.chmod(0o700)


def private_to_user(path: Path) -> bool:
    """Whether ``path`` (not followed if a symlink) belongs to this user and no one else may
    write it: then no other user's process wrote what it holds."""
    try:
        info = path.lstat()
    except OSError:
        return False
    if stat.S_ISLNK(info.st_mode):
        return False
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return False
    return not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)

"""The generator's scripts (files/) where a generated image has them: on PATH. A test that
runs a rendered step for real finds sandbox-fetch and sandbox-install-release under the
names the step calls them by."""

from __future__ import annotations

import os
from pathlib import Path

FILES = Path(__file__).resolve().parents[2] / "files"
#: the scripts the base stage COPYs into /usr/local/bin for the tools' steps
STEP_SCRIPTS = ("sandbox-fetch", "sandbox-install-release")


def path_with_scripts(path: str | None = None) -> str:
    """``path`` (default: this process's PATH) with files/ in front."""
    return f"{FILES}{os.pathsep}{os.environ['PATH'] if path is None else path}"


def link_scripts(bin_dir: Path) -> None:
    """Each step script linked into ``bin_dir``, for a test that builds its own PATH."""
    for name in STEP_SCRIPTS:
        (bin_dir / name).symlink_to(FILES / name)

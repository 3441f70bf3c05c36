"""Running the real `sandbox` CLI in a subprocess, and looking for processes it left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def sandbox_command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "generator", *map(str, args)]


def sandbox(*args: str | Path, timeout: float = 900, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``sandbox ARGS`` with this environment (DOCKER_HOST, SANDBOX_DOCKER_CLI), plus ``env``."""
    environment = {**os.environ, **env} if env else None
    return subprocess.run(sandbox_command(*args), capture_output=True, text=True, timeout=timeout, check=False, env=environment)


def processes_mentioning(text: str) -> list[str]:
    """Command lines (from /proc) of live processes whose arguments contain ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        command = raw.replace(b"\0", b" ").decode(errors="replace").strip()
        if text in command and state != "Z":
            found.append(f"{entry.name}: {command}")
    return found

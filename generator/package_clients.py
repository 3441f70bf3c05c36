"""Running a package manager's own client (npm, uv) for `sandbox lock`.

The transitive locks are made by the real clients, so the files are exactly what those
clients verify at build time. This module finds uv (the `uv` wheel from PyPI, a dependency
of this package, so that a lock never depends on whichever uv a machine has on PATH), runs
a client, and turns its failure into an UpstreamError that says which command failed and
what it printed. It sits below the install methods, which call it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from generator.errors import UpstreamError
from generator.terminal import escape_controls

#: how long one client run may take (a resolution fetches many packuments)
CLIENT_TIMEOUT = 900.0
#: how much of a failing client's output the error keeps: its start (npm's error lines come
#: first, before a page of help) and its end (uv's reason comes last)
_HEAD, _TAIL = 1200, 600


def run_client(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    *,
    drop: tuple[str, ...] = (),
    timeout: float = CLIENT_TIMEOUT,
) -> str:
    """Run ``argv`` in ``cwd`` with this process's environment, less the variables whose
    name starts with one of ``drop`` (the client's own settings, which would change what
    it resolves), plus ``env``; its stdout. UpstreamError when it cannot start, fails or
    takes longer than ``timeout`` seconds."""
    name = Path(argv[0]).name
    environ = {key: value for key, value in os.environ.items() if not key.lower().startswith(drop)}
    try:
        done = subprocess.run(
            list(argv), cwd=cwd, env={**environ, **(env or {})}, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise UpstreamError(f"{name} is not installed (needed to lock this tool's dependencies)") from None
    except subprocess.TimeoutExpired:
        raise UpstreamError(f"{name} took longer than {timeout:.0f}s: {' '.join(argv[1:4])} ...") from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip()
        if len(said) > _HEAD + _TAIL:
            said = f"{said[:_HEAD]} … {said[-_TAIL:]}"
        said = escape_controls(said)
        raise UpstreamError(f"`{name} {' '.join(argv[1:3])}` failed (exit {done.returncode}): {said}")
    return done.stdout


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

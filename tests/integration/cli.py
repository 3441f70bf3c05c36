"""Running the real `sandbox` CLI, in a subprocess or in this process, and looking for
processes it left behind."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from generator import cache
from generator.cli import main


def sandbox_command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "generator", *map(str, args)]


def sandbox(
    *args: str | Path, timeout: float = 900, env: dict[str, str] | None = None, cwd: str | Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``sandbox ARGS`` in a new process with this environment (DOCKER_HOST, SANDBOX_DOCKER_CLI),
    plus ``env``. For what needs a process of its own (the console script, imports, signals,
    timeouts, hash seeds); ``sandbox_in_process`` says the same without the start-up."""
    environment = {**os.environ, **env} if env else None
    return subprocess.run(sandbox_command(*args), capture_output=True, text=True, timeout=timeout, check=False, env=environment, cwd=cwd)


#: handlers a command may install (generator/docker/build.py does); put back after each run
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def sandbox_in_process(
    *args: str | Path,
    cwd: str | Path | None = None,
    env: Mapping[str, str | None] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``sandbox ARGS`` run by this interpreter, as ``sandbox()`` runs it in a new one: the same
    boundary (generator.cli.main, which the console script's run() calls), so the same stdout,
    stderr and exit code, for a few milliseconds instead of an interpreter start-up.

    ``env`` is laid over this environment for the call (None unsets a name); the working
    directory, the environment, the umask and the signal handlers are put back afterwards.
    What a fresh process would recompute is: the generator's fingerprint (generator/cache.py
    memoises it, and an edited source must be a miss as it is for a new process). A command
    still running after ``timeout`` seconds raises TimeoutError (SIGALRM), as
    subprocess.run's timeout raises TimeoutExpired."""
    saved_environ = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_umask = os.umask(0o022)
    os.umask(saved_umask)
    saved_handlers = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    # what a child whose output is a pipe gets: UTF-8 (C.UTF-8 locale), strict for stdout,
    # backslashreplace for stderr; no terminal, so click and shutil fall back to 80 columns
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
    stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace", write_through=True)

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"sandbox {' '.join(map(str, args))} still running after {timeout} s")

    previous_alarm = signal.signal(signal.SIGALRM, expired)
    started = time.monotonic()
    earlier_alarm = signal.alarm(max(1, round(timeout)))
    try:
        os.environ.setdefault("COLUMNS", "80")
        os.environ.setdefault("LINES", "24")
        for name, value in (env or {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if cwd is not None:
            os.chdir(cwd)
        cache.generator_fingerprint.cache_clear()
        sys.stdin = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # at end of file, like </dev/null
        sys.stdout, sys.stderr = stdout, stderr
        try:
            code = main([str(arg) for arg in args])
        except SystemExit as exc:  # what run() would turn into the exit status
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous_alarm)
        if earlier_alarm:  # a caller's alarm (the fails_if_blocked fixture) keeps running
            signal.alarm(max(1, earlier_alarm - round(time.monotonic() - started)))
        for sig, handler in saved_handlers.items():
            signal.signal(sig, handler)
        os.umask(saved_umask)
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
    return subprocess.CompletedProcess(
        [sys.executable, "-m", "generator", *map(str, args)], int(code), _as_read_from_a_pipe(stdout), _as_read_from_a_pipe(stderr)
    )


def _as_read_from_a_pipe(stream: io.TextIOWrapper) -> str:
    """What subprocess.run(text=True) reads: the bytes decoded, line endings made \\n."""
    stream.flush()
    raw = stream.buffer.getvalue()  # type: ignore[attr-defined]
    return io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8").read()


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

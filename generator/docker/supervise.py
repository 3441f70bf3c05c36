"""Run one docker CLI command under a deadline, in a process group that dies with its caller.

python-on-whales runs the docker CLI with :mod:`subprocess` and no timeout, and a CLI it has
started keeps running when the caller gives up (a stream that is not read to its end, Ctrl-C,
SIGTERM). Its documented hook for "how to call docker" is ``client_call``, a command prefix; this
script is that prefix (see :func:`generator.docker.client.DockerClient.whales`):

    python -I -S supervise.py SECONDS PIDFILE [--unset=NAME]... -- /usr/bin/docker ARGS...

It starts the CLI in a session of its own, so stopping it also stops what the CLI started (the
buildx plugin, credential helpers), and

* after SECONDS, or on SIGINT/SIGTERM/SIGHUP, sends SIGTERM to that session, then SIGKILL after
  a grace period; a deadline ends with exit status :data:`TIMED_OUT` and a file PIDFILE +
  :data:`TIMED_OUT_SUFFIX` (the exit status alone could be the CLI's own);
* on Linux, asks the kernel to SIGTERM itself when its caller dies and the CLI when it dies
  (PR_SET_PDEATHSIG), so a caller killed outright still leaves nothing behind;
* writes its pid to PIDFILE (unless it is ``-``) before it starts the CLI, so the caller can stop
  it early (SIGTERM), and removes the file when done;
* removes the variables named by ``--unset`` from the CLI's environment.

The CLI's stdin, stdout and stderr are this process's own, so python-on-whales reads the CLI
directly. Standard library only: it runs with ``-I -S``, outside the project's environment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

#: the exit status after the deadline passed (as coreutils' `timeout`)
TIMED_OUT = 124
TIMED_OUT_SUFFIX = ".timed-out"
#: how long the CLI gets to clean up after SIGTERM (buildx cancels the build on the engine)
GRACE = 5.0

_PR_SET_PDEATHSIG = 1


def _die_with_parent(sig: int) -> None:
    """Linux only: deliver ``sig`` to this process when its parent exits; elsewhere nothing
    (the deadline and the forwarded signals still apply)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        pass


def _stop(child: subprocess.Popen[bytes]) -> None:
    """SIGTERM the CLI's session, give the CLI GRACE seconds to exit, then SIGKILL what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(child.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            child.wait(timeout=GRACE)
        except subprocess.TimeoutExpired:
            continue
        break
    try:  # helpers the CLI left behind
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") < 2 or argv.index("--") == len(argv) - 1:
        sys.stderr.write("usage: supervise.py SECONDS PIDFILE [--unset=NAME]... -- COMMAND...\n")
        return 2
    split = argv.index("--")
    seconds, pidfile, options, command = float(argv[0]), argv[1], argv[2:split], argv[split + 1 :]
    environment = dict(os.environ)
    for option in options:
        environment.pop(option.removeprefix("--unset="), None)
    parent = os.getppid()
    _die_with_parent(signal.SIGTERM)
    if os.getppid() != parent:  # the caller died before the request took effect
        return 1
    stop_requested: list[int] = []

    def request_stop(signum: int, frame: object) -> None:
        stop_requested.append(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, request_stop)
    if pidfile != "-":
        with open(pidfile, "w", encoding="ascii") as handle:
            handle.write(f"{os.getpid()}\n")
    try:
        status = _supervise(command, environment, seconds, stop_requested)
        if status == TIMED_OUT and pidfile != "-":
            open(pidfile + TIMED_OUT_SUFFIX, "w").close()
        return status
    finally:
        if pidfile != "-":
            try:
                os.unlink(pidfile)
            except OSError:
                pass


def _supervise(command: list[str], environment: dict[str, str], seconds: float, stop_requested: list[int]) -> int:
    try:
        child = subprocess.Popen(
            command,
            env=environment,
            start_new_session=True,
            preexec_fn=lambda: _die_with_parent(signal.SIGTERM),  # noqa: PLW1509 - this script runs no threads; prctl has no other hook
        )
    except OSError as exc:
        sys.stderr.write(f"{command[0]}: {exc.strerror}\n")
        return 127 if isinstance(exc, FileNotFoundError) else 126
    deadline = time.monotonic() + seconds
    while child.poll() is None:
        if stop_requested:
            _stop(child)
            return 128 + stop_requested[0]
        if time.monotonic() >= deadline:
            _stop(child)
            return TIMED_OUT
        try:
            child.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            pass
    # the CLI is done; a helper it left in its session has no one to report to
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return child.returncode if child.returncode >= 0 else 128 - child.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

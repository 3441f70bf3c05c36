"""Turn the docker CLI's stderr into one of our error types.

The CLI reports an unreachable engine in several wordings that changed between releases
(20.10 through 29.x, Linux sockets, TCP hosts, Windows named pipes, podman's docker shim), so the
patterns below are matched per line and case-insensitively. Build and container output can
contain the same words ("connection refused" from a RUN step's curl), so lines that BuildKit
prefixes as step output are not looked at.
"""

from __future__ import annotations

import re

from generator.docker.errors import DockerError, NotRunning, PermissionDenied

# Checked first: the 29.x permission wording also says "connect to the docker API".
_PERMISSION = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"permission denied while trying to connect to the docker",  # 20.10 "Got ...", 24+ "permission ...", 29 "... docker API"
        r"dial unix \S+: connect: permission denied",
        r"must be run with elevated privileges to connect",  # Windows, daemon not exposed to this user
        r"open //\./pipe/\S+: access is denied",
    )
]

_NOT_RUNNING = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"cannot connect to the docker daemon",  # every release up to 28.x
        r"is the docker daemon running\?",
        r"failed to connect to the docker api at",  # 29.x
        r"is your docker daemon up and running\?",  # pre-17 clients
        r"error during connect: this error may indicate that the docker daemon is not running",
        r"error during connect: .*(connection refused|no such file or directory|cannot find the file specified)",
        # not systemd's socket: Podman without systemd logs that it cannot reach it (for a
        # health check's timer) and goes on
        r"dial unix (?!/run/systemd/)\S+: connect: (connection refused|no such file or directory)",
        r"dial unix (?!/run/systemd/)\S+: no such file or directory",
        r"open //\./pipe/\S+: the system cannot find the file specified",
        r"cannot connect to podman",
        r"unable to connect to podman socket",
    )
]

# BuildKit progress ("#5 0.231 ...") and buildx's error box ("0.231 curl: ...") carry the
# output of the build's own commands, which may legitimately talk about refused connections.
_STEP_OUTPUT = re.compile(r"^\s*(#\d+\s|\d+\.\d+\s)")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

#: how much of a long stderr an error message keeps (the end is where the CLI puts the cause)
MAX_LINES = 30


def decode(data: str | bytes | None) -> str:
    """Bytes from a subprocess as text; invalid UTF-8 becomes U+FFFD instead of an exception."""
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data


def message_of(stderr: str | bytes | None) -> str:
    """The part of stderr worth showing: colour codes gone, blank lines gone, the last lines kept."""
    lines = [line.rstrip() for line in _ANSI.sub("", decode(stderr)).splitlines()]
    lines = [line for line in lines if line.strip()]
    if len(lines) > MAX_LINES:
        lines = ["..."] + lines[-MAX_LINES:]
    return "\n".join(lines)


def _control_lines(text: str) -> list[str]:
    return [line for line in _ANSI.sub("", text).splitlines() if not _STEP_OUTPUT.match(line)]


def kind(stderr: str | bytes | None) -> type[NotRunning] | type[PermissionDenied] | None:
    """Which connection problem stderr reports, if any."""
    lines = _control_lines(decode(stderr))
    for patterns, found in ((_PERMISSION, PermissionDenied), (_NOT_RUNNING, NotRunning)):
        if any(p.search(line) for p in patterns for line in lines):
            return found
    return None


def classify(stderr: str | bytes | None, *, default: type[DockerError] = DockerError) -> DockerError:
    """The error to raise for a failed docker command: NotRunning and PermissionDenied carry the
    seed's fixed messages (the CLI's own words stay in ``.detail``); anything else becomes
    ``default`` with the CLI's message."""
    detail = message_of(stderr)
    found = kind(stderr)
    if found is not None:
        return found(detail)
    return default(detail or "the docker command failed without a message")

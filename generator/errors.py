"""Error types shared by every command, and the exit code each one maps to.

Commands raise; only ``generator.cli`` turns an exception into output and an exit code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from generator.terminal import escape_controls

if TYPE_CHECKING:
    from email.message import Message


class ExitCode(IntEnum):
    OK = 0
    #: drift between spec and committed output, lint findings, failed checks
    FINDINGS = 1
    #: invalid spec or invalid command-line usage
    USAGE = 2
    #: the spec and the command line are fine; something outside failed or refused: the Docker
    #: engine (connection, build, pull, smoke test), a registry, an upstream host, a program
    #: this tool runs (hadolint)
    EXTERNAL = 3
    #: a bug in this tool: anything we did not anticipate
    INTERNAL = 70
    INTERRUPTED = 130


class SandboxError(Exception):
    """Base for every error this tool reports deliberately (no traceback)."""

    exit_code: ExitCode = ExitCode.INTERNAL


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a spec, located in its source file."""

    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        # one line on the terminal, whatever a key or value in the field or message holds
        field = f" {self.field}:" if self.field else ""
        return escape_controls(f"{self.file}:{self.line}:{self.column}:{field} {self.message}")


class SpecError(SandboxError):
    """The spec was rejected; carries every problem found, not only the first."""

    exit_code = ExitCode.USAGE

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(SandboxError):
    exit_code = ExitCode.USAGE


class FindingsError(SandboxError):
    """The command ran fine and found something wrong (drift, lint findings)."""

    exit_code = ExitCode.FINDINGS


class ToolUnavailable(SandboxError):
    """A program this tool runs (hadolint) is missing or could not be started: the
    installation is at fault, not the spec and not this tool's code."""

    exit_code = ExitCode.EXTERNAL


class UpstreamError(SandboxError):
    """An upstream (release host, package index, registry) failed or refused us.

    Exit code 3, as for Docker and registry errors: the spec is fine, the outside world did
    not answer as needed.
    """

    exit_code = ExitCode.EXTERNAL

    def __init__(self, message: str, status: int | None = None, headers: Message | None = None) -> None:
        super().__init__(message)
        #: the HTTP status and headers, when an HTTP answer was the problem
        self.status = status
        self.headers = headers


class RateLimitError(UpstreamError):
    """An API said 'too many requests'; the message says when to retry and how to avoid it."""

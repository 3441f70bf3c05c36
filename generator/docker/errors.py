"""One error hierarchy for everything that talks to Docker (engine, builder, registries)."""

from __future__ import annotations

from generator.errors import ExitCode, SandboxError

NOT_RUNNING = "Docker daemon not running. Start Docker Desktop or the Docker service."
PERMISSION_DENIED = "Permission denied accessing Docker socket. You may need to add your user to the 'docker' group."


class DockerError(SandboxError):
    exit_code = ExitCode.EXTERNAL
    #: the docker command that failed (the CLI and its arguments) and its exit status, when
    #: the error comes from one
    command: list[str] | None = None
    exit_status: int | None = None
    #: what the CLI itself said (the tail of its stderr), without our framing
    cli_message: str = ""


class EngineUnreachable(DockerError):
    """The engine could not be reached (the two subclasses below name the usual causes)."""


class NotRunning(EngineUnreachable):
    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        super().__init__(NOT_RUNNING)


class PermissionDenied(EngineUnreachable):
    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        super().__init__(PERMISSION_DENIED)


class CliMissing(DockerError):
    """The docker CLI binary itself is missing."""


class BuilderMissing(DockerError):
    """Neither buildx nor a CLI with built-in BuildKit (older than 23) is available."""


class BuildError(DockerError):
    def __init__(self, message: str, step: str | None = None, log_tail: list[str] | None = None) -> None:
        self.step = step
        self.log_tail = log_tail or []
        text = message
        if step:
            text += f"\n  failing step: {step}"
        if self.log_tail:
            text += "\n  last log lines:\n" + "\n".join(f"    {line}" for line in self.log_tail)
        super().__init__(text)


class PullError(DockerError):
    pass


class ContainerError(DockerError):
    pass


class DockerTimeout(DockerError):
    """A docker command ran past its deadline and was stopped (with every process it started)."""

    def __init__(self, operation: str, seconds: float) -> None:
        self.operation = operation
        self.seconds = seconds
        super().__init__(f"{operation} did not finish within {seconds:g} s and was stopped")

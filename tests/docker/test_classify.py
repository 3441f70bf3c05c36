"""The docker CLI's error wordings, release by release, and what each becomes.

The 20.10 and 28.2 lines marked "measured" were produced on this project's CI machine; the rest
are the wordings other releases and platforms print (29.x changed "daemon" to "docker API").
"""

from __future__ import annotations

import pytest

from generator.docker import classify
from generator.docker.errors import (
    NOT_RUNNING,
    PERMISSION_DENIED,
    BuildError,
    DockerError,
    EngineUnreachable,
    NotRunning,
    PermissionDenied,
    PullError,
)

NOT_RUNNING_WORDINGS = {
    # measured: CLI 20.10 and 28.2, unix socket that does not exist
    "20-28 unix socket": "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
    # measured: CLI 28.2 with DOCKER_HOST=tcp://127.0.0.1:1
    "20-28 tcp": "Cannot connect to the Docker daemon at tcp://127.0.0.1:1. Is the docker daemon running?",
    # measured: `docker info` on 20.10 prefixes the server section
    "20.10 info": "Server:\nERROR: Cannot connect to the Docker daemon at unix:///tmp/x.sock. Is the docker daemon running?\n"
    "errors pretty printing info",
    "docker run prefix": "docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?.\n"
    "See 'docker run --help'.",
    "error during connect, socket missing": 'error during connect: Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.24/version": '
    "dial unix /var/run/docker.sock: connect: no such file or directory",
    "error during connect, refused": 'error during connect: Get "http://127.0.0.1:2375/v1.24/version": '
    "dial tcp 127.0.0.1:2375: connect: connection refused",
    "dial unix refused": 'Get "http://%2Frun%2Fuser%2F1000%2Fdocker.sock/_ping": dial unix /run/user/1000/docker.sock: '
    "connect: connection refused",
    "windows pipe, 20-24": "error during connect: This error may indicate that the docker daemon is not running.: "
    'Get "http://%2F%2F.%2Fpipe%2Fdocker_engine/v1.24/version": open //./pipe/docker_engine: '
    "The system cannot find the file specified.",
    "windows desktop pipe, 25-28": 'error during connect: Get "http://%2F%2F.%2Fpipe%2FdockerDesktopLinuxEngine/v1.46/version": '
    "open //./pipe/dockerDesktopLinuxEngine: The system cannot find the file specified.",
    "29 unix": "failed to connect to the docker API at unix:///var/run/docker.sock; check if the path is correct and if "
    "the daemon is running: dial unix /var/run/docker.sock: connect: no such file or directory",
    "29 desktop mac": "failed to connect to the docker API at unix:///Users/me/.docker/run/docker.sock; check if the path is "
    "correct and if the daemon is running: dial unix /Users/me/.docker/run/docker.sock: connect: no such file or directory",
    "29 windows": "failed to connect to the docker API at npipe:////./pipe/dockerDesktopLinuxEngine; check if the path is "
    "correct and if the daemon is running: open //./pipe/dockerDesktopLinuxEngine: The system cannot find the file specified.",
    "pre-17": "Post http:///var/run/docker.sock/v1.20/containers/create: dial unix /var/run/docker.sock: no such file or "
    "directory.\n* Are you trying to connect to a TLS-enabled daemon without TLS?\n* Is your docker daemon up and running?",
    "podman machine stopped": "Cannot connect to Podman. Please verify your connection to the Linux system using "
    "`podman system connection list`, or try `podman machine init` and `podman machine start` to manage a new Linux VM\n"
    "Error: unable to connect to Podman socket: dial tcp 127.0.0.1:51234: connect: connection refused",
    "coloured": "\x1b[31mCannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\x1b[0m",
}

PERMISSION_WORDINGS = {
    "20-23 Got": "Got permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: "
    'Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.24/version": dial unix /var/run/docker.sock: connect: permission denied',
    # measured: CLI 20.10 and 28.2 run as nobody against the CI socket
    "24-28": "permission denied while trying to connect to the Docker daemon socket at unix:///tmp/sandbox-ci-docker/docker.sock: "
    'Get "http://%2Ftmp%2Fsandbox-ci-docker%2Fdocker.sock/v1.50/version": dial unix /tmp/sandbox-ci-docker/docker.sock: '
    "connect: permission denied",
    "docker run prefix": "docker: permission denied while trying to connect to the Docker daemon socket at "
    'unix:///var/run/docker.sock: Head "http://%2Fvar%2Frun%2Fdocker.sock/_ping": dial unix /var/run/docker.sock: '
    "connect: permission denied.\nSee 'docker run --help'.",
    "29": "permission denied while trying to connect to the docker API at unix:///var/run/docker.sock",
    "with config warning": "WARNING: Error loading config file: /root/.docker/config.json: open /root/.docker/config.json: "
    "permission denied\n\npermission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: "
    'Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.24/version": dial unix /var/run/docker.sock: connect: permission denied',
    "bare dial": 'Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.41/info": dial unix /var/run/docker.sock: connect: permission denied',
    "windows elevation": "error during connect: in the default daemon configuration on Windows, the docker client must be "
    'run with elevated privileges to connect.: Get "http://%2F%2F.%2Fpipe%2Fdocker_engine/v1.24/version": '
    "open //./pipe/docker_engine: The system cannot find the file specified.",
    "windows access denied": 'error during connect: Get "http://%2F%2F.%2Fpipe%2Fdocker_engine/v1.24/version": '
    "open //./pipe/docker_engine: Access is denied.",
}

OTHER_WORDINGS = {
    "no such image": "Error response from daemon: No such image: nothing:here",
    "tls": 'error during connect: Get "https://10.0.0.5:2376/v1.24/version": x509: certificate signed by unknown authority',
    "unknown context": 'context "nope": context not found: open /root/.docker/contexts/meta/abc/meta.json: no such file or directory',
    # a build step that cannot reach a server must stay a build failure, not "daemon not running"
    "step output, progress": "#7 0.512 curl: (7) Failed to connect to 127.0.0.1 port 9 after 0 ms: Connection refused\n"
    "#7 0.513 dial unix /run/app.sock: connect: connection refused\n"
    "#7 ERROR: executor failed running [/bin/sh -c curl http://127.0.0.1:9/]: exit code: 7",
    "step output, error box": "------\n > [2/2] RUN go run probe.go:\n0.734 dial unix /run/app.sock: connect: permission denied\n"
    '------\nERROR: failed to solve: process "/bin/sh -c go run probe.go" did not complete successfully: exit code: 1',
    "file permission in a step": "open /home/opencode/.cache: permission denied",
}


@pytest.mark.parametrize("stderr", NOT_RUNNING_WORDINGS.values(), ids=NOT_RUNNING_WORDINGS.keys())
def test_not_running(stderr: str) -> None:
    error = classify.classify(stderr)
    assert type(error) is NotRunning
    assert str(error) == NOT_RUNNING
    assert error.detail.splitlines()[-1].strip() in classify.message_of(stderr)


@pytest.mark.parametrize("stderr", PERMISSION_WORDINGS.values(), ids=PERMISSION_WORDINGS.keys())
def test_permission_denied(stderr: str) -> None:
    error = classify.classify(stderr)
    assert type(error) is PermissionDenied
    assert str(error) == PERMISSION_DENIED
    assert "permission denied" in error.detail.lower() or "privileges" in error.detail.lower() or "access is denied" in error.detail.lower()


@pytest.mark.parametrize("stderr", OTHER_WORDINGS.values(), ids=OTHER_WORDINGS.keys())
def test_other_errors_keep_the_cli_message(stderr: str) -> None:
    error = classify.classify(stderr, default=BuildError)
    assert type(error) is BuildError
    assert classify.message_of(stderr).splitlines()[-1] in str(error)


def test_connection_errors_are_all_docker_errors_with_exit_code_3() -> None:
    for error in (classify.classify(NOT_RUNNING_WORDINGS["29 unix"]), classify.classify(PERMISSION_WORDINGS["29"])):
        assert isinstance(error, EngineUnreachable) and isinstance(error, DockerError)
        assert int(error.exit_code) == 3


def test_default_type_is_used_for_unrecognised_errors() -> None:
    assert type(classify.classify("manifest unknown", default=PullError)) is PullError
    assert type(classify.classify("manifest unknown")) is DockerError


def test_empty_stderr_still_gives_a_message() -> None:
    assert str(classify.classify(b"")) != ""


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe Error response from daemon: \xc3\x28 bad bytes",
        b"Cannot connect to the Docker daemon at unix:///tmp/\xe9t\xe9.sock. Is the docker daemon running?",
        b"\x80\x81\x82",
    ],
)
def test_invalid_utf8_is_replaced_not_raised(raw: bytes) -> None:
    error = classify.classify(raw)
    text = str(error) + getattr(error, "detail", "")
    text.encode("utf-8")  # every character representable: no surrogates smuggled through
    assert "\ufffd" in classify.message_of(raw)
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_long_stderr_keeps_the_end() -> None:
    lines = [f"line {i}" for i in range(100)] + ["the actual cause"]
    message = classify.message_of("\n".join(lines))
    assert message.endswith("the actual cause")
    assert "line 0\n" not in message
    assert len(message.splitlines()) == classify.MAX_LINES + 1

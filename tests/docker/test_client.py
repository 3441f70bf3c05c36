"""DockerClient against the real engine and the real CLIs: binary resolution, errors, timeouts,
BuildKit mode."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator.docker.client import (
    BUILD_TIMEOUT,
    DEFAULT_TIMEOUT,
    DockerClient,
    parse_version,
)
from generator.docker.errors import (
    NOT_RUNNING,
    PERMISSION_DENIED,
    BuilderMissing,
    CliMissing,
    DockerError,
    NotRunning,
    PermissionDenied,
    TimeoutError,
)
from generator.errors import UsageError


def _write_script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


# -- finding the binary (no engine needed) ----------------------------------------------------


def test_explicit_cli_wins_over_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = _write_script(tmp_path / "mydocker", "#!/bin/sh\nexit 0\n")
    monkeypatch.setenv("SANDBOX_DOCKER_CLI", "/does/not/exist")
    assert DockerClient(cli=str(fake)).cli_path == str(fake)


def test_environment_names_the_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = _write_script(tmp_path / "envdocker", "#!/bin/sh\nexit 0\n")
    monkeypatch.setenv("SANDBOX_DOCKER_CLI", str(fake))
    assert DockerClient().cli_path == str(fake)


def test_docker_on_path_is_the_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = _write_script(tmp_path / "docker", "#!/bin/sh\nexit 0\n")
    monkeypatch.delenv("SANDBOX_DOCKER_CLI", raising=False)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert DockerClient().cli_path == str(fake)


def test_missing_flag_binary_names_the_flag_and_the_variable(tmp_path: Path) -> None:
    with pytest.raises(CliMissing) as caught:
        DockerClient(cli=str(tmp_path / "nope")).cli_path  # noqa: B018 - the property raises
    message = str(caught.value)
    assert message.startswith("docker CLI not found")
    assert str(tmp_path / "nope") in message and "--docker-cli" in message and "SANDBOX_DOCKER_CLI" in message


def test_missing_env_binary_says_where_it_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_DOCKER_CLI", "/no/such/docker")
    with pytest.raises(CliMissing, match=r"'/no/such/docker' \(from SANDBOX_DOCKER_CLI\)"):
        DockerClient().run(["version"])


def test_no_docker_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SANDBOX_DOCKER_CLI", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CliMissing, match="not found on PATH"):
        DockerClient().verify_connection()


def test_a_file_that_is_not_executable_is_not_a_cli(tmp_path: Path) -> None:
    plain = tmp_path / "docker"
    plain.write_text("not a program")
    with pytest.raises(CliMissing):
        DockerClient(cli=str(plain)).cli_path  # noqa: B018


def test_base_command_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///from/env.sock")
    monkeypatch.setenv("DOCKER_CONTEXT", "envctx")
    by_host = DockerClient(cli=sys.executable, host="tcp://10.1.2.3:2375")
    assert by_host.base_command() == [sys.executable, "--host", "tcp://10.1.2.3:2375"]
    assert "DOCKER_CONTEXT" not in by_host.env() and by_host.env()["DOCKER_HOST"] == "unix:///from/env.sock"
    by_context = DockerClient(cli=sys.executable, context="remote")
    assert by_context.base_command() == [sys.executable, "--context", "remote"]
    assert "DOCKER_HOST" not in by_context.env()
    default = DockerClient(cli=sys.executable)
    assert default.base_command() == [sys.executable]
    assert default.env()["DOCKER_HOST"] == "unix:///from/env.sock"


def test_host_and_context_together_are_a_usage_error() -> None:
    with pytest.raises(UsageError):
        DockerClient(host="unix:///x.sock", context="c")


def test_timeouts() -> None:
    assert DockerClient().timeout == DEFAULT_TIMEOUT == 120.0
    assert BUILD_TIMEOUT == 600.0
    client = DockerClient.with_timeout(BUILD_TIMEOUT, host="unix:///x.sock")
    assert client.timeout == BUILD_TIMEOUT and client.host == "unix:///x.sock"


def test_run_takes_argument_lists_only() -> None:
    with pytest.raises(TypeError):
        DockerClient(cli=sys.executable).run("version --format x")  # type: ignore[arg-type]


# ids by number: `-k "not build"` (the CI split) must not deselect these
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Docker version 28.2.2, build e6534b4", (28, 2, 2)),
        ("Docker version 20.10.24+dfsg1, build 297e128", (20, 10, 24)),
        ("podman version 4.3.1", (4, 3, 1)),
        ("Docker version 17.03", (17, 3, 0)),
        ("no digits", None),
    ],
    ids=["28.2", "20.10", "podman", "17.03", "none"],
)
def test_parse_version(text: str, expected: tuple[int, int, int] | None) -> None:
    assert parse_version(text) == expected


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    """A CLI that started helpers (buildx, credential helpers) must not leave them running."""
    pidfile = tmp_path / "child.pid"
    cli = _write_script(tmp_path / "slowdocker", f"#!/bin/sh\nsleep 300 &\necho $! > {pidfile}\nwait\n")
    started = time.monotonic()
    with pytest.raises(TimeoutError) as caught:
        DockerClient(cli=str(cli)).run(["build", "."], timeout=1.5)
    assert time.monotonic() - started < 10
    assert caught.value.seconds == 1.5 and "docker build" in str(caught.value)
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{child}").exists():
        state = Path(f"/proc/{child}/stat").read_text().split()[2] if Path(f"/proc/{child}/stat").exists() else "X"
        if state == "Z":
            break
        time.sleep(0.05)
    alive = Path(f"/proc/{child}/stat").exists() and Path(f"/proc/{child}/stat").read_text().split()[2] != "Z"
    assert not alive, "the CLI's child survived the timeout"


def test_stream_timeout_stops_a_silent_cli(tmp_path: Path) -> None:
    cli = _write_script(tmp_path / "silent", "#!/bin/sh\necho started\nexec sleep 300\n")
    seen: list[str] = []
    with pytest.raises(TimeoutError):
        for line in DockerClient(cli=str(cli)).stream(["pull", "x"], timeout=1.0):
            seen.append(line)
    assert seen == ["started"]


def test_invalid_utf8_from_the_cli_is_replaced(tmp_path: Path) -> None:
    cli = _write_script(tmp_path / "bytes", "#!/bin/sh\nprintf 'out \\377\\376\\n'\nprintf 'err \\303\\050\\n' >&2\nexit 1\n")
    client = DockerClient(cli=str(cli))
    result = client.run(["x"], check=False)
    assert result.stdout == "out \ufffd\ufffd\n" and result.stderr.startswith("err \ufffd")
    with pytest.raises(DockerError) as caught:
        client.run(["x"])
    assert "err \ufffd(" in str(caught.value)
    lines: list[str] = []
    with pytest.raises(DockerError) as streamed:
        lines.extend(client.stream(["x"], timeout=5))
    assert "out \ufffd\ufffd" in lines and "err \ufffd(" in str(streamed.value)


# -- against the engine ------------------------------------------------------------------------


@pytest.mark.docker
def test_version_and_verify(docker_client: DockerClient) -> None:
    docker_client.verify_connection()
    text = docker_client.version()
    assert re.fullmatch(r"Docker \d+\.\d+\.\d+ \(API \d+\.\d+\)", text), text
    engine = subprocess.run(
        docker_client.base_command() + ["version", "--format", "{{.Server.Version}}"],
        capture_output=True, text=True, env=docker_client.env(), check=True,
    ).stdout.strip()
    assert text.startswith(f"Docker {engine.split('+')[0]} ")


@pytest.mark.docker
def test_run_returns_decoded_output_and_stdin(docker_client: DockerClient, base_image: str) -> None:
    result = docker_client.run(
        ["run", "--rm", "-i", base_image, "sh", "-c", "cat; printf '\\377' >&2"], input=b"from stdin \xff\n"
    )
    assert result.returncode == 0
    assert result.stdout == "from stdin \ufffd\n" and result.stderr == "\ufffd"


@pytest.mark.docker
def test_failed_command_raises_the_cli_message(docker_client: DockerClient, unique_name: str) -> None:
    with pytest.raises(DockerError) as caught:
        docker_client.run(["image", "inspect", f"{unique_name}:absent"])
    assert type(caught.value) is DockerError
    assert "no such image" in str(caught.value).lower() and unique_name in str(caught.value)


@pytest.mark.docker
def test_timeout_on_a_real_container(docker_client: DockerClient, base_image: str, unique_name: str) -> None:
    try:
        with pytest.raises(TimeoutError, match="docker run did not finish within 2 s"):
            docker_client.run(["run", "--rm", "--name", unique_name, base_image, "sleep", "120"], timeout=2)
    finally:
        docker_client.run(["rm", "--force", unique_name], check=False)


@pytest.mark.docker
def test_stream_yields_lines_and_classifies_failures(docker_client: DockerClient, base_image: str) -> None:
    lines = list(docker_client.stream(["run", "--rm", base_image, "sh", "-c", "echo one; echo two >&2"]))
    assert lines == ["one", "two"] or sorted(lines) == ["one", "two"]
    with pytest.raises(DockerError, match="No such image"):
        list(docker_client.stream(["image", "inspect", "sandbox-test-absent:none"]))


@pytest.mark.docker
@pytest.mark.parametrize("which", ["20.10", "28.x"])
@pytest.mark.parametrize("how", ["host argument", "DOCKER_HOST", "tcp"])
def test_dead_engine_is_not_running(
    docker_client: DockerClient, cli_20: str, cli_28: str, which: str, how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = cli_20 if which == "20.10" else cli_28
    dead = f"unix://{tmp_path}/dead.sock"
    if how == "host argument":
        client = DockerClient(cli=cli, host=dead)
    elif how == "DOCKER_HOST":
        monkeypatch.setenv("DOCKER_HOST", dead)
        client = DockerClient(cli=cli)
    else:
        client = DockerClient(cli=cli, host="tcp://127.0.0.1:1")
    with pytest.raises(NotRunning) as caught:
        client.verify_connection()
    assert str(caught.value) == NOT_RUNNING
    assert ("dead.sock" if how != "tcp" else "127.0.0.1:1") in caught.value.detail
    with pytest.raises(NotRunning):
        client.run(["image", "ls"])


def _as_nobody(tmp_path: Path, cli: str, docker_unavailable) -> Path:  # noqa: ANN001
    """A wrapper that runs the real CLI as an unprivileged user (the socket is root:docker 0660)."""
    if os.geteuid() != 0:
        docker_unavailable("the permission test drops privileges with setpriv and needs to start as root")
    home = tmp_path / "nobody-home"
    home.mkdir()
    home.chmod(0o777)
    return _write_script(
        tmp_path / "docker-as-nobody",
        f"#!/bin/sh\nexec setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME={home} {cli} \"$@\"\n",
    )


@pytest.mark.docker
@pytest.mark.parametrize("which", ["20.10", "28.x"])
def test_socket_not_permitted_is_permission_denied(
    docker_client: DockerClient, cli_20: str, cli_28: str, which: str, tmp_path: Path, docker_unavailable
) -> None:
    real = cli_20 if which == "20.10" else cli_28
    cli = _as_nobody(tmp_path, real, docker_unavailable)
    client = DockerClient(cli=str(cli))
    with pytest.raises(PermissionDenied) as caught:
        client.verify_connection()
    assert str(caught.value) == PERMISSION_DENIED
    assert "permission denied" in caught.value.detail
    # the same socket is fine for the privileged user: it is the permission, not the engine
    DockerClient(cli=real).verify_connection()


@pytest.mark.docker
def test_inner_uses_the_same_binary_and_engine(docker_client: DockerClient, tmp_path: Path) -> None:
    import python_on_whales

    inner = docker_client.inner
    assert inner.client_config.client_call == [docker_client.cli_path]
    engine = inner.version().server.version
    assert docker_client.version().startswith(f"Docker {engine.split('+')[0]} ")
    dead = DockerClient(cli=docker_client.cli_path, host=f"unix://{tmp_path}/dead.sock")
    assert dead.inner.client_config.host == f"unix://{tmp_path}/dead.sock"
    with pytest.raises(python_on_whales.exceptions.DockerException):
        dead.inner.version()


@pytest.mark.docker
def test_pre_23_cli_mode_is_builtin(docker_client: DockerClient, cli_20: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))  # no user-installed buildx
    assert DockerClient(cli=cli_20).buildkit_mode() == "builtin"


@pytest.mark.docker
def test_cli_23_or_newer_without_the_plugin_is_refused(docker_client: DockerClient, cli_28: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, docker_unavailable) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))  # no user-installed plugins either
    client = DockerClient(cli=cli_28)
    if client.buildx_version() is not None:
        docker_unavailable(f"{cli_28} has buildx here, so the missing-buildx path cannot be shown")
    with pytest.raises(BuilderMissing) as caught:
        client.buildkit_mode()
    message = str(caught.value)
    assert "has no buildx plugin" in message and "23 or newer" in message
    assert "docker-buildx-plugin" in message and "cli-plugins/docker-buildx" in message and "--docker-cli" in message


@pytest.mark.docker
@pytest.mark.parametrize("which", ["20.10", "28.x"])
def test_the_plugin_is_preferred_when_present(cli_20: str, cli_28: str, which: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI discovers a plugin in $DOCKER_CONFIG/cli-plugins; a stand-in buildx answers
    `version`, which is all buildkit_mode asks of it."""
    plugins = tmp_path / "cli-plugins"
    plugins.mkdir()
    _write_script(
        plugins / "docker-buildx",
        "#!/bin/sh\n"
        'if [ "$1" = docker-cli-plugin-metadata ]; then\n'
        '  echo \'{"SchemaVersion":"0.1.0","Vendor":"test","Version":"v0.0.0","ShortDescription":"stand-in"}\'\n'
        "  exit 0\nfi\n"
        '[ "$2" = version ] && { echo "github.com/docker/buildx v0.0.0 stand-in"; exit 0; }\nexit 1\n',
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    client = DockerClient(cli=cli_20 if which == "20.10" else cli_28)
    assert client.buildkit_mode() == "buildx"
    assert client.buildx_version() == "github.com/docker/buildx v0.0.0 stand-in"


def test_interrupt_stops_the_cli_instead_of_waiting(tmp_path: Path) -> None:
    """The CLI runs in its own session, so Ctrl-C does not reach it; run() must stop it."""
    pidfile = tmp_path / "cli.pid"
    cli = _write_script(tmp_path / "slow", f"#!/bin/sh\necho $$ > {pidfile}\nexec sleep 60\n")
    program = (
        "import os, signal, sys, threading, time\n"
        "from generator.docker.client import DockerClient\n"
        "threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()\n"
        "start = time.monotonic()\n"
        "try:\n"
        f"    DockerClient(cli={str(cli)!r}).run(['x'], timeout=60)\n"
        "except KeyboardInterrupt:\n"
        "    print(round(time.monotonic() - start, 1))\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=30, check=True)
    assert float(done.stdout) < 10, done.stdout + done.stderr
    stat_file = Path(f"/proc/{int(pidfile.read_text())}/stat")
    assert not stat_file.exists() or stat_file.read_text().split()[2] == "Z"


def test_podman_shim_is_not_refused_as_too_old(tmp_path: Path) -> None:
    """podman's `docker` shim reports its own version (4.x) and has no buildx `version`; its
    build understands RUN --mount without BuildKit, so it must not be refused as 'too old'."""
    cli = _write_script(
        tmp_path / "docker",
        '#!/bin/sh\n[ "$1" = --version ] && { echo "podman version 4.3.1"; exit 0; }\n'
        'echo "Error: unrecognized command `podman $*`" >&2\nexit 125\n',
    )
    assert DockerClient(cli=str(cli)).buildkit_mode() == "builtin"

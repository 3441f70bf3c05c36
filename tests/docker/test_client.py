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

from generator.docker.client import DockerClient, parse_version
from generator.docker.errors import (
    NOT_RUNNING,
    PERMISSION_DENIED,
    BuilderMissing,
    CliMissing,
    DockerError,
    DockerTimeout,
    NotRunning,
    PermissionDenied,
)
from generator.docker.timeouts import BUILD_TIMEOUT, DEFAULT_TIMEOUT
from generator.errors import UsageError
from tests.docker.cli import docker_cli


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
        DockerClient().client_version()


def test_no_docker_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SANDBOX_DOCKER_CLI", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CliMissing, match="not found on PATH"):
        DockerClient().server_version()


def test_a_file_that_is_not_executable_is_not_a_cli(tmp_path: Path) -> None:
    plain = tmp_path / "docker"
    plain.write_text("not a program")
    with pytest.raises(CliMissing):
        DockerClient(cli=str(plain)).cli_path  # noqa: B018


def test_whales_client_runs_the_cli_under_the_supervisor_on_the_chosen_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    by_host = DockerClient(cli=sys.executable, host="tcp://10.1.2.3:2375", config="/etc/dcfg", timeout=7)
    config = by_host.whales().client_config
    assert config.client_call[-1] == sys.executable and config.client_call[0] == sys.executable
    assert config.client_call[3].endswith("supervise.py") and config.client_call[4] == "7.0"
    assert "--unset=DOCKER_CONTEXT" in config.client_call and config.client_call[-2] == "--"
    assert (config.host, config.context, config.config) == ("tcp://10.1.2.3:2375", None, "/etc/dcfg")
    by_context = DockerClient(cli=sys.executable, context="remote")
    assert by_context.unset_environment() == ["DOCKER_HOST"]
    assert by_context.whales(3).client_config.context == "remote"
    assert DockerClient(cli=sys.executable).unset_environment() == []


def test_podman_does_not_see_a_docker_config_without_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Podman 4.3 fails every run, push and pull when DOCKER_CONFIG names a directory without
    # config.json (Docker accepts one); with config.json it reads credentials there
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert DockerClient(cli=sys.executable, engine="podman").unset_environment() == ["DOCKER_CONFIG"]
    assert DockerClient(cli=sys.executable).unset_environment() == []
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    assert DockerClient(cli=sys.executable, engine="podman").unset_environment() == []


def test_supervisor_hides_the_variables_that_contradict_the_engine_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """DOCKER_HOST next to an explicit --context is refused by some CLI releases."""
    cli = _write_script(tmp_path / "envdocker", '#!/bin/sh\necho "host=${DOCKER_HOST-unset} context=${DOCKER_CONTEXT-unset}"\n')
    monkeypatch.setenv("DOCKER_HOST", "unix:///from/env.sock")
    monkeypatch.setenv("DOCKER_CONTEXT", "envctx")
    assert DockerClient(cli=str(cli), context="remote").run_cli(["x"]) == "host=unset context=envctx"
    assert DockerClient(cli=str(cli), host="unix:///h.sock").run_cli(["x"]) == "host=unix:///from/env.sock context=unset"


def test_host_and_context_together_are_a_usage_error() -> None:
    with pytest.raises(UsageError):
        DockerClient(host="unix:///x.sock", context="c")


def test_timeouts() -> None:
    assert DockerClient().timeout == DEFAULT_TIMEOUT == 120.0
    assert BUILD_TIMEOUT == 600.0
    client = DockerClient(timeout=BUILD_TIMEOUT, host="unix:///x.sock")
    assert client.timeout == BUILD_TIMEOUT and client.host == "unix:///x.sock"


def test_run_cli_takes_argument_lists_only() -> None:
    with pytest.raises(TypeError):
        DockerClient(cli=sys.executable).run_cli("version --format x")  # type: ignore[arg-type]


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), float("inf")])
def test_a_timeout_is_a_positive_finite_number(seconds: float) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        DockerClient(cli=sys.executable).whales(seconds)


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
    with pytest.raises(DockerTimeout) as caught:
        DockerClient(cli=str(cli)).run_cli(["build", "."], timeout=1.5)
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
    with pytest.raises(DockerTimeout):
        for line in DockerClient(cli=str(cli)).stream(lambda whales: whales.image.pull("x", stream_logs=True), timeout=1.0):
            seen.append(line)
    assert seen == ["started"]


def test_output_that_is_not_utf8(tmp_path: Path) -> None:
    """Output of a command that worked is decoded with U+FFFD for what is not UTF-8; a failed
    command's output python-on-whales decodes strictly, so the error says that instead of
    showing it (and is still an error of ours, not a traceback)."""
    ok = _write_script(tmp_path / "ok", "#!/bin/sh\nprintf 'out \\377\\376\\n'\n")
    assert DockerClient(cli=str(ok)).run_cli(["x"]) == "out \ufffd\ufffd"
    assert list(DockerClient(cli=str(ok)).stream(lambda whales: whales.image.pull("x", stream_logs=True), timeout=5)) == [
        "out \ufffd\ufffd"
    ]
    bad = _write_script(tmp_path / "bad", "#!/bin/sh\nprintf 'err \\303\\050\\n' >&2\nexit 1\n")
    with pytest.raises(DockerError, match="not UTF-8"):
        DockerClient(cli=str(bad)).run_cli(["x"])
    with pytest.raises(DockerError, match="not UTF-8"):
        list(DockerClient(cli=str(bad)).stream(lambda whales: whales.image.pull("x", stream_logs=True), timeout=5))


def test_a_failure_carries_the_command_its_status_and_the_end_of_stderr(tmp_path: Path) -> None:
    noisy = "".join(f"echo line {n} >&2\n" for n in range(100))
    cli = _write_script(tmp_path / "failing", f"#!/bin/sh\n{noisy}exit 3\n")
    with pytest.raises(DockerError) as caught:
        DockerClient(cli=str(cli), host="unix:///x.sock").call(lambda whales: whales.image.inspect("some/image:tag"))
    error = caught.value
    assert error.command == [str(cli), "--host", "unix:///x.sock", "image", "inspect", "some/image:tag"]
    assert error.exit_status == 3 and error.cli_message.endswith("line 99") and "line 60" not in error.cli_message
    assert str(error).endswith(f"command: {cli} --host unix:///x.sock image inspect some/image:tag (exit status 3)")


# -- against the engine ------------------------------------------------------------------------


@pytest.mark.docker
def test_version_and_verify(docker_client: DockerClient) -> None:
    docker_client.server_version()
    text = docker_client.version()
    assert re.fullmatch(r"Docker \d+\.\d+\.\d+ \(API \d+\.\d+\)", text), text
    engine = docker_cli(docker_client, ["version", "--format", "{{.Server.Version}}"]).stdout.strip()
    assert text.startswith(f"Docker {engine.split('+')[0]} ")


@pytest.mark.docker
def test_failed_command_raises_the_cli_message(docker_client: DockerClient, unique_name: str) -> None:
    with pytest.raises(DockerError) as caught:
        docker_client.call(lambda whales: whales.image.inspect(f"{unique_name}:absent"))
    assert type(caught.value) is DockerError
    assert "no such image" in caught.value.cli_message.lower() and unique_name in str(caught.value)
    assert caught.value.exit_status == 1 and caught.value.command[-3:] == ["image", "inspect", f"{unique_name}:absent"]


@pytest.mark.docker
def test_timeout_on_a_real_container_removes_nothing_but_stops_the_cli(
    docker_client: DockerClient, base_image: str, unique_name: str
) -> None:
    try:
        started = time.monotonic()
        with pytest.raises(DockerTimeout, match="docker container run did not finish within 2 s"):
            docker_client.call(lambda whales: whales.container.run(base_image, ["sleep", "120"], name=unique_name, remove=True), timeout=2)
        assert time.monotonic() - started < 15
    finally:
        docker_cli(docker_client, ["rm", "--force", unique_name], check=False)


@pytest.mark.docker
def test_stream_yields_lines_and_classifies_failures(docker_client: DockerClient, base_image: str, unique_name: str) -> None:
    docker_cli(docker_client, ["create", "--name", unique_name, base_image, "sleep", "60"])
    try:
        docker_cli(docker_client, ["start", unique_name])
        command = ["sh", "-c", "echo one; echo two >&2"]
        lines = list(docker_client.stream(lambda whales: whales.container.execute(unique_name, command, stream=True)))
        assert sorted(lines) == ["one", "two"]
        with pytest.raises(DockerError, match="No such container"):
            list(docker_client.stream(lambda whales: whales.container.execute(f"{unique_name}-absent", command, stream=True)))
    finally:
        docker_cli(docker_client, ["rm", "--force", unique_name], check=False)


@pytest.mark.docker
@pytest.mark.parametrize("which", ["20.10", "28.x"])
@pytest.mark.parametrize("how", ["host argument", "DOCKER_HOST", "tcp"])
def test_dead_engine_is_not_running(
    default_engine_only: DockerClient, cli_20: str, cli_28: str, which: str, how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
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
        client.server_version()
    assert str(caught.value) == NOT_RUNNING
    assert ("dead.sock" if how != "tcp" else "127.0.0.1:1") in caught.value.detail
    with pytest.raises(NotRunning):
        client.call(lambda whales: whales.image.list())


def _as_nobody(tmp_path: Path, cli: str, docker_unavailable) -> Path:
    """A wrapper that runs the real CLI as an unprivileged user (the socket is root:docker 0660)."""
    if os.geteuid() != 0:
        docker_unavailable("the permission test drops privileges with setpriv and needs to start as root")
    home = tmp_path / "nobody-home"
    home.mkdir()
    home.chmod(0o777)
    return _write_script(
        tmp_path / "docker-as-nobody",
        f'#!/bin/sh\nexec setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME={home} {cli} "$@"\n',
    )


@pytest.mark.docker
@pytest.mark.parametrize("which", ["20.10", "28.x"])
def test_socket_not_permitted_is_permission_denied(
    default_engine_only: DockerClient, cli_20: str, cli_28: str, which: str, tmp_path: Path, docker_unavailable
) -> None:
    real = cli_20 if which == "20.10" else cli_28
    cli = _as_nobody(tmp_path, real, docker_unavailable)
    client = DockerClient(cli=str(cli))
    with pytest.raises(PermissionDenied) as caught:
        client.server_version()
    assert str(caught.value) == PERMISSION_DENIED
    assert "permission denied" in caught.value.detail
    # the same socket is fine for the privileged user: it is the permission, not the engine
    DockerClient(cli=real).server_version()


@pytest.mark.docker
def test_pre_23_cli_mode_is_builtin(
    default_engine_only: DockerClient, cli_20: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))  # no user-installed buildx
    assert DockerClient(cli=cli_20).buildkit_mode() == "builtin"


@pytest.mark.docker
def test_cli_23_or_newer_without_the_plugin_is_refused(
    default_engine_only: DockerClient, cli_28: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, docker_unavailable
) -> None:
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
def test_the_plugin_is_preferred_when_present(
    default_engine_only: DockerClient, cli_20: str, cli_28: str, which: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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
        # Ctrl-C raises KeyboardInterrupt even when pytest was started with SIGINT ignored (a
        # background job of a non-interactive shell): Python installs no handler then, and
        # this test waited out its 30 s and failed
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        # Ctrl-C once the CLI runs (it has written its pid), not after a guessed delay: on a
        # busy machine a second was not always enough for the CLI to start
        "def interrupt():\n"
        f"    while not os.path.exists({str(pidfile)!r}):\n"
        "        time.sleep(0.01)\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "threading.Thread(target=interrupt, daemon=True).start()\n"
        "start = time.monotonic()\n"
        "try:\n"
        f"    DockerClient(cli={str(cli)!r}).run_cli(['x'], timeout=60)\n"
        "except KeyboardInterrupt:\n"
        "    print(round(time.monotonic() - start, 1))\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=30, check=True)
    assert float(done.stdout) < 10, done.stdout + done.stderr
    stat_file = Path(f"/proc/{int(pidfile.read_text())}/stat")
    assert not stat_file.exists() or stat_file.read_text().split()[2] == "Z"


def test_podman_shim_is_podman_not_a_docker_too_old(tmp_path: Path) -> None:
    """podman's `docker` shim reports its own version (4.x) and has no buildx `version`; it
    is Podman (building with Buildah), not refused as a docker CLI 'too old'. (A stand-in
    script: what its `--version` says is all that is asked; tests/docker/test_podman.py runs
    the real Podman.)"""
    cli = _write_script(
        tmp_path / "docker",
        '#!/bin/sh\n[ "$1" = --version ] && { echo "podman version 4.3.1"; exit 0; }\n'
        'echo "Error: unrecognized command `podman $*`" >&2\nexit 125\n',
    )
    client = DockerClient(cli=str(cli))
    assert client.engine_kind == "podman" and client.buildkit_mode() == "podman"


def test_a_stream_left_early_stops_the_cli_and_what_it_started(tmp_path: Path) -> None:
    """python-on-whales keeps a streamed CLI running when its reader goes away; the client's
    stream stops it (and its helpers) when the caller stops reading."""
    pidfile = tmp_path / "helper.pid"
    cli = _write_script(tmp_path / "chatty", f"#!/bin/sh\nsleep 300 &\necho $! > {pidfile}\necho first\nwait\n")
    started = time.monotonic()
    for line in DockerClient(cli=str(cli)).stream(lambda whales: whales.image.pull("x", stream_logs=True), timeout=300):
        assert line == "first"
        break
    assert time.monotonic() - started < 10
    helper = Path(f"/proc/{int(pidfile.read_text())}/stat")
    # signalled, the helper may still be on its way out (state R) for a moment when the stream
    # returns, on a busy machine; one that was never signalled sleeps on for 300 s
    deadline = time.monotonic() + 5
    while _alive(helper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(helper), "the CLI's helper outlived the stream"


def _alive(stat_file: Path) -> bool:
    """Whether the process of /proc/PID/stat exists and has not exited (a zombie has)."""
    try:
        return stat_file.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_an_answer_python_on_whales_cannot_read_is_a_docker_error(tmp_path: Path) -> None:
    cli = _write_script(tmp_path / "odd", '#!/bin/sh\necho \'{"Client": 12, "Server": [1, 2]}\'\n')
    with pytest.raises(DockerError, match="answer could not be read"):
        DockerClient(cli=str(cli)).server_version()
    garbage = _write_script(tmp_path / "garbage", "#!/bin/sh\necho 'not json at all'\n")
    with pytest.raises(DockerError, match="answer could not be read"):
        DockerClient(cli=str(garbage)).server_version()

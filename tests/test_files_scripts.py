"""files/sandbox-entrypoint and files/sandbox-healthcheck, run for real."""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import stat
import subprocess
import threading
from pathlib import Path

import pytest

FILES = Path(__file__).resolve().parent.parent / "files"
ENTRYPOINT = FILES / "sandbox-entrypoint"
HEALTHCHECK = FILES / "sandbox-healthcheck"


def test_scripts_are_executable():
    for script in (ENTRYPOINT, HEALTHCHECK):
        assert script.stat().st_mode & stat.S_IXUSR, script


def _entrypoint(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {"PATH": f"{home / 'bin'}:{os.environ['PATH']}", "HOME": str(home), **env}
    return subprocess.run([str(ENTRYPOINT), *args], env=environment, capture_output=True, text=True, timeout=30)


#: stands in for the opencode binary only to show what the entrypoint hands it (argv and
#: the password's presence); the real opencode runs against the image in tests/docker
FAKE_OPENCODE = """#!/bin/sh
printf 'argv:'; printf ' %s' "$@"; printf '\\n'
printf 'password:%s\\n' "${OPENCODE_SERVER_PASSWORD-<unset>}"
printf 'password file:%s\\n' "${OPENCODE_SERVER_PASSWORD_FILE-<unset>}"
"""

WEB = ("opencode", "web", "--hostname", "0.0.0.0", "--port", "3000")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "opencode"
    fake.write_text(FAKE_OPENCODE)
    fake.chmod(0o755)
    return tmp_path


def _served(result: subprocess.CompletedProcess) -> tuple[list[str], str]:
    assert result.returncode == 0, result.stderr
    argv, password, password_file = result.stdout.splitlines()
    assert password_file == "password file:<unset>"  # the server gets the password, not where it was read
    return argv.split()[1:], password.split(":", 1)[1]


def test_entrypoint_prepares_the_data_dirs_and_becomes_the_command(home):
    dirs = [home / "data", home / "deep" / "config"]
    result = _entrypoint(home, "sh", "-c", 'echo "pid=$$"; exit 7', SANDBOX_DATA_DIRS=":".join(map(str, dirs)))
    assert result.returncode == 7
    assert result.stdout.startswith("pid=")
    for directory in dirs:
        assert directory.is_dir()
        # a plain directory is neither a volume nor a bind mount: the user is told
        assert f"WARNING: {directory} is not a volume or bind mount" in result.stderr


def test_entrypoint_keeps_ssh_private(home):
    ssh = home / ".ssh"
    ssh.mkdir(mode=0o755)
    ssh.chmod(0o755)
    result = _entrypoint(home, "true", SANDBOX_DATA_DIRS=str(ssh))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(ssh.stat().st_mode) == 0o700


def test_entrypoint_names_a_data_path_it_cannot_create_and_still_runs(home):
    blocker = home / "blocker"
    blocker.write_text("a file where a directory's parent should be")
    result = _entrypoint(home, "echo", "ran", SANDBOX_DATA_DIRS=f"{blocker}/opencode")
    assert result.returncode == 0
    assert result.stdout == "ran\n"
    assert f"{blocker}/opencode does not exist and could not be created" in result.stderr


def test_entrypoint_without_a_command_fails(home):
    result = _entrypoint(home)
    assert result.returncode == 64
    assert "no command to run" in result.stderr


def test_entrypoint_refuses_an_unknown_ownership_mode(home):
    result = _entrypoint(home, "true", SANDBOX_FIX_OWNERSHIP="sometimes")
    assert result.returncode == 64
    assert "SANDBOX_FIX_OWNERSHIP must be top, recursive or off, got 'sometimes'" in result.stderr


# -- the web server's password ------------------------------------------------------------


def test_first_start_generates_a_private_password_and_restarts_reuse_it(home):
    store = home / ".local/share/opencode/server-password"
    argv, password = _served(_entrypoint(home, *WEB))
    assert argv == list(WEB[1:])
    assert len(password) == 24 and password.replace("-", "").replace("_", "").isalnum()
    assert store.read_text().strip() == password
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    store.chmod(0o644)  # loosened since (a restore, a careless chmod): made private again
    first = _entrypoint(home, *WEB)
    assert _served(first)[1] == password
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert f"read it with: docker exec CONTAINER cat {store}" in first.stderr
    assert password not in first.stderr
    # another data directory (a fresh volume) gets another password
    assert _served(_entrypoint(home, *WEB, XDG_DATA_HOME=str(home / "fresh")))[1] != password


def test_the_generated_password_is_private_from_its_first_byte(home):
    # the mode of the file the password is first written to, seen by a stand-in for mv
    # just before the rename: a window in which others could read it would defeat 0600
    seen = home / "mode-before-rename"
    wrapper = home / "bin" / "mv"
    wrapper.write_text(f'#!/bin/sh\nstat -c %a "$3" > {seen}\nexec {shutil.which("mv")} "$@"\n')
    wrapper.chmod(0o755)
    _served(_entrypoint(home, *WEB))
    assert seen.read_text().strip() == "600"


def test_password_from_the_environment_is_used_as_given(home):
    result = _entrypoint(home, *WEB, OPENCODE_SERVER_PASSWORD="correct horse")
    assert _served(result)[1] == "correct horse"
    assert "correct horse" not in result.stderr
    assert not (home / ".local/share/opencode/server-password").exists()


def test_password_file_is_read_and_never_echoed(home):
    secret = home / "secret"
    secret.write_text("from-a-file\n")
    result = _entrypoint(home, *WEB, OPENCODE_SERVER_PASSWORD_FILE=str(secret))
    assert _served(result)[1] == "from-a-file"
    assert "from-a-file" not in result.stderr
    assert f"the password in {secret}" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"OPENCODE_SERVER_PASSWORD_FILE": "/nonexistent/secret"},
            "OPENCODE_SERVER_PASSWORD_FILE=/nonexistent/secret is not a readable file",
        ),
        ({"OPENCODE_SERVER_PASSWORD": "a", "OPENCODE_SERVER_PASSWORD_FILE": "/etc/hostname"}, "are both set; use one"),
        ({"OPENCODE_SERVER_PASSWORD": ""}, "OPENCODE_SERVER_PASSWORD is empty; to serve without a password set SANDBOX_INSECURE_NO_AUTH=1"),
        ({"SANDBOX_INSECURE_NO_AUTH": "1", "OPENCODE_SERVER_PASSWORD": "a"}, "SANDBOX_INSECURE_NO_AUTH=1 and a password are both set"),
    ],
)
def test_conflicting_or_missing_credentials_stop_the_start(home, env, message):
    result = _entrypoint(home, *WEB, **env)
    assert result.returncode == 78
    assert message in result.stderr
    assert result.stdout == ""


def test_empty_password_file_stops_the_start(home):
    secret = home / "secret"
    secret.write_text("")
    result = _entrypoint(home, *WEB, OPENCODE_SERVER_PASSWORD_FILE=str(secret))
    assert result.returncode == 78 and "is empty" in result.stderr


def test_opting_out_is_explicit_and_warned_about(home):
    result = _entrypoint(home, *WEB, SANDBOX_INSECURE_NO_AUTH="1")
    assert _served(result)[1] == "<unset>"
    assert "WARNING: SANDBOX_INSECURE_NO_AUTH=1: the web UI asks for NO password" in result.stderr
    assert not (home / ".local/share/opencode/server-password").exists()
    wrong = _entrypoint(home, *WEB, SANDBOX_INSECURE_NO_AUTH="please")
    assert wrong.returncode == 64 and "SANDBOX_INSECURE_NO_AUTH must be 1" in wrong.stderr


def test_unwritable_password_store_fails_closed(home):
    (home / "data").write_text("not a directory")
    result = _entrypoint(home, *WEB, XDG_DATA_HOME=str(home / "data"))
    assert result.returncode == 78
    assert "cannot keep a generated password" in result.stderr and result.stdout == ""


def test_other_commands_get_no_password(home):
    result = _entrypoint(home, "opencode", "--version")
    assert _served(result) == (["--version"], "<unset>")
    assert not (home / ".local/share/opencode").exists()


# -- where the web server listens ---------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ["web", "--hostname", "0.0.0.0", "--port", "3000"]),
        ({"PORT": "8080"}, ["web", "--hostname", "0.0.0.0", "--port", "8080"]),
        ({"PORT": "8080", "OPENCODE_PORT": "9090"}, ["web", "--hostname", "0.0.0.0", "--port", "9090"]),
        ({"OPENCODE_HOSTNAME": "127.0.0.1"}, ["web", "--hostname", "127.0.0.1", "--port", "3000"]),
    ],
)
def test_bind_address_and_port_come_from_the_environment(home, env, expected):
    argv, _ = _served(_entrypoint(home, *WEB, SANDBOX_INSECURE_NO_AUTH="1", **env))
    assert argv == expected


def test_bind_flags_are_added_or_rewritten_in_every_form(home):
    env = {"SANDBOX_INSECURE_NO_AUTH": "1", "PORT": "4000", "OPENCODE_HOSTNAME": "::"}
    assert _served(_entrypoint(home, "opencode", "serve", **env))[0] == ["serve", "--port", "4000", "--hostname", "::"]
    argv, _ = _served(_entrypoint(home, "opencode", "web", "--port=1", "--hostname=h", **env))
    assert argv == ["web", "--port=4000", "--hostname=::"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "0"}, "must be a port number from 1 to 65535, got '0'"),
        ({"OPENCODE_PORT": "70000"}, "got '70000'"),
        ({"PORT": "80; rm -rf /"}, "got '80; rm -rf /'"),
        ({"OPENCODE_HOSTNAME": "a b"}, "OPENCODE_HOSTNAME must be an address or host name"),
    ],
)
def test_bad_bind_values_are_refused(home, env, message):
    result = _entrypoint(home, *WEB, **env)
    assert result.returncode == 64
    assert message in result.stderr


class _Status(http.server.BaseHTTPRequestHandler):
    """Answers /STATUS with that status; /401-basic adds a Basic challenge."""

    def do_GET(self):
        code, _, challenge = self.path.strip("/").partition("-")
        self.send_response(int(code))
        if challenge:
            self.send_header("WWW-Authenticate", 'Basic realm="Secure Area"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _check(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(HEALTHCHECK), *args], env={"PATH": os.environ["PATH"], **env}, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("status", ["200", "204", "302", "401-basic"])
def test_healthy_answers(server, status):
    result = _check(f"{server}/{status}")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize("status", [401, 403, 404, 500, 503])
def test_unhealthy_answers_name_the_status(server, status):
    result = _check(f"{server}/{status}")
    assert result.returncode == 1
    assert f"answered HTTP {status}" in result.stderr


def test_unreachable_server_is_unhealthy_with_curls_reason():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = _check(f"http://127.0.0.1:{port}/")
    assert result.returncode == 1
    assert f"could not reach http://127.0.0.1:{port}/" in result.stderr
    assert "curl:" in result.stderr and not result.stderr.rstrip().endswith("000")


def test_usage_and_bad_timeout_are_errors(server):
    assert "usage: sandbox-healthcheck URL" in _check().stderr
    result = _check(f"{server}/200", SANDBOX_HEALTHCHECK_TIMEOUT="4s")
    assert result.returncode == 1 and "whole seconds" in result.stderr


def test_health_follows_the_port_the_server_was_given(server):
    port = server.rsplit(":", 1)[1]
    # the URL names a port nobody listens on; PORT / OPENCODE_PORT name the server's
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        unused = probe.getsockname()[1]
    assert _check(f"http://127.0.0.1:{unused}/200", PORT=port).returncode == 0
    assert _check(f"http://127.0.0.1:{unused}/200", PORT=str(unused), OPENCODE_PORT=port).returncode == 0
    result = _check(f"{server}/200", PORT=str(unused))
    assert result.returncode == 1 and f"could not reach http://127.0.0.1:{unused}/200" in result.stderr
    # a server bound to one address is checked there; 0.0.0.0 is reached through loopback
    assert _check(f"http://localhost:{unused}/204", OPENCODE_HOSTNAME="127.0.0.1", OPENCODE_PORT=port).returncode == 0
    assert _check(f"http://localhost:{port}/204", OPENCODE_HOSTNAME="0.0.0.0").returncode == 0

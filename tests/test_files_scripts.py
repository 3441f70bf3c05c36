"""files/sandbox-entrypoint and files/sandbox-healthcheck, run for real."""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import stat
import subprocess
import threading
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from generator.spec import server_command_problem
from tests.integration.examples import examples

FILES = Path(__file__).resolve().parent.parent / "files"
ENTRYPOINT = FILES / "sandbox-entrypoint"
HEALTHCHECK = FILES / "sandbox-healthcheck"


def test_scripts_are_executable():
    for script in (ENTRYPOINT, HEALTHCHECK):
        assert script.stat().st_mode & stat.S_IXUSR, script


def _entrypoint(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {"PATH": f"{home / 'bin'}:{os.environ['PATH']}", "HOME": str(home), **env}
    # errors="replace": a password that is not UTF-8 is shown, not a decoding error in the test
    return subprocess.run([str(ENTRYPOINT), *args], env=environment, capture_output=True, text=True, errors="replace", timeout=30)


#: stands in for the opencode binary only to show what the entrypoint hands it (argv and
#: the password's presence); the real opencode runs against the image in tests/docker
FAKE_OPENCODE = """#!/bin/sh
printf 'argv:'; printf ' %s' "$@"; printf '\\n'
printf 'password:%s\\n' "${OPENCODE_SERVER_PASSWORD-<unset>}"
printf 'password file:%s\\n' "${OPENCODE_SERVER_PASSWORD_FILE-<unset>}"
if [ -n "${OPENCODE_SERVER_PASSWORD+set}" ]; then printf '%s' "$OPENCODE_SERVER_PASSWORD" >"$HOME/password-seen"; fi
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
        (
            {"OPENCODE_SERVER_PASSWORD": ""},
            "OPENCODE_SERVER_PASSWORD is empty, or only blanks, line breaks or NULs; "
            "to serve without a password set SANDBOX_INSECURE_NO_AUTH=1",
        ),
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


STORE = ".local/share/opencode/server-password"


def test_every_command_gets_the_password_unless_opted_out(home):
    # opencode's server asks for the password whichever command starts it: exported for all
    result = _entrypoint(home, "opencode", "--version")
    argv, password = _served(result)
    assert argv == ["--version"] and len(password) == 24
    assert (home / STORE).read_text() == password + "\n"
    assert "an opencode server this command starts asks for user 'opencode'" in result.stderr
    assert _served(_entrypoint(home, "opencode", "--version", SANDBOX_INSECURE_NO_AUTH="1")) == (["--version"], "<unset>")


@pytest.mark.parametrize(
    "command",
    [
        ("{bin}/opencode", "--print-logs", "web", "--hostname", "0.0.0.0", "--port", "3000"),
        ("opencode", "--log-level", "DEBUG", "serve", "--port=3000"),
        ("opencode", "--log-level=WARN", "--print-logs", "web"),
    ],
)
def test_the_server_is_recognised_with_a_path_or_options_before_its_subcommand(home, command):
    command = tuple(word.format(bin=home / "bin") for word in command)
    result = _entrypoint(home, *command, PORT="4000")
    argv, password = _served(result)
    words = [word.replace("3000", "4000") for word in command[1:]]
    assert argv == (words if "3000" in " ".join(command) else [*words, "--port", "4000"])
    assert len(password) == 24
    assert "the web UI asks for user 'opencode' and a generated password" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("env", "opencode", "web", "--port", "3000"),
        ("sh", "-c", 'exec opencode web --port 3000 "$@"', "sh"),
        ("opencode", "--log-level", "web", "--port", "3000"),  # no level: not the server's form
        ("opencode", "--pure", "web", "--port", "3000"),
    ],
)
def test_a_server_the_entrypoint_does_not_recognise_still_gets_the_password(home, command):
    result = _entrypoint(home, *command, PORT="4000")
    argv, password = _served(result)
    assert argv[-2:] == ["--port", "3000"]  # not rewritten: only the recognised form is
    assert len(password) == 24 and (home / STORE).read_text() == password + "\n"
    assert f"note: '{command[0]}' is not opencode's web server as this entrypoint recognises it" in result.stderr
    assert "OPENCODE_PORT, PORT and OPENCODE_HOSTNAME are not applied" in result.stderr
    opted_out = _entrypoint(home, *command, SANDBOX_INSECURE_NO_AUTH="1")
    assert _served(opted_out)[1] == "<unset>"
    assert "WARNING: SANDBOX_INSECURE_NO_AUTH=1" in opted_out.stderr


_FIRST_WORDS = ["opencode", "{bin}/opencode", "./opencode", "opencode-ai", "env", "sh", "web"]
_LATER_WORDS = [
    "--print-logs",
    "--print-logs=true",
    "--log-level",
    "--log-level=DEBUG",
    "--log-level=debug",
    "DEBUG",
    "ERROR",
    "web",
    "serve",
]
_LATER_WORDS += ["run", "-c", "opencode", "--", "--cors"]


@settings(max_examples=examples(80), derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(first=st.sampled_from(_FIRST_WORDS), rest=st.lists(st.sampled_from(_LATER_WORDS), max_size=4))
def test_the_spec_accepts_with_auth_basic_exactly_the_servers_the_entrypoint_recognises(tmp_path_factory, first, rest):
    # one rule on both sides: a command the spec accepts with runtime.auth basic is one the
    # entrypoint gives the port to, and every other command gets the entrypoint's note
    home = tmp_path_factory.mktemp("home")
    (home / "bin").mkdir()
    (home / "bin" / "opencode").write_text(FAKE_OPENCODE)
    (home / "bin" / "opencode").chmod(0o755)
    command = [first.format(bin=home / "bin"), *rest]
    result = _entrypoint(home, *command, PORT="4000", SANDBOX_INSECURE_NO_AUTH="1")
    recognised = "is not opencode's web server as this entrypoint recognises it" not in result.stderr
    assert recognised == (server_command_problem(command) is None), (command, result.stderr)
    if recognised and first in ("opencode", "{bin}/opencode"):  # the stand-in ran: the port reached it
        assert _served(result)[0][-2:] == ["--port", "4000"]


# -- a password is never empty or read otherwise than written -----------------------------

#: a password file's bytes that would reach opencode empty or changed, and why
UNUSABLE_FILES = [
    (b"", "is empty"),
    (b"\n", "is empty, or only blanks, line breaks or NULs"),
    (b" \t\r\n", "is empty, or only blanks, line breaks or NULs"),
    (b"\x00\x00\n", "is empty, or only blanks, line breaks or NULs"),
    (b"pass\x00word\n", "holds a NUL byte"),  # bash would drop the NUL
    (b"secret\r\n", "holds a carriage return (a CRLF line ending?)"),  # $(...) would keep the CR
    (b"secret\n\n", "holds a line break or another control character"),  # $(...) would drop both
    (b"two\nlines\n", "holds a line break or another control character"),
    (b"caf\xe9\n", "is not UTF-8 text"),  # Latin-1: opencode would read U+FFFD
    (b"x" * 4097, "is longer than 4096 bytes"),  # head -c 4096 would cut it
    (b"x" * 4097 + b"\n", "is longer than 4096 bytes"),
]


@pytest.mark.parametrize(("content", "message"), UNUSABLE_FILES)
def test_a_password_file_read_otherwise_than_written_stops_the_start(home, content, message):
    secret = home / "secret"
    secret.write_bytes(content)
    result = _entrypoint(home, *WEB, OPENCODE_SERVER_PASSWORD_FILE=str(secret))
    assert result.returncode == 78, result.stderr
    assert f"the password in OPENCODE_SERVER_PASSWORD_FILE={secret} {message}" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("content", "password"),
    [
        (b"pw\n", b"pw"),
        (b"pw", b"pw"),
        (b" p w ", b" p w "),
        ("pässwörd\n".encode(), "pässwörd".encode()),
        (b"x" * 4096 + b"\n", b"x" * 4096),
    ],
)
def test_a_password_file_is_used_byte_for_byte(home, content, password):
    secret = home / "secret"
    secret.write_bytes(content)
    _served(_entrypoint(home, *WEB, OPENCODE_SERVER_PASSWORD_FILE=str(secret)))
    assert (home / "password-seen").read_bytes() == password


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (" ", "is empty, or only blanks"),
        ("\t\n", "is empty, or only blanks"),
        ("secret\r", "holds a carriage return"),
        ("a\x1bb", "holds a line break or another control character"),
        ("a\x85b", "holds a line break or another control character"),  # C1: NEL
        ("x" * 4097, "is longer than 4096 bytes"),
    ],
)
def test_a_password_from_the_environment_that_cannot_be_typed_stops_the_start(home, value, message):
    result = _entrypoint(home, *WEB, OPENCODE_SERVER_PASSWORD=value)
    assert result.returncode == 78
    assert f"OPENCODE_SERVER_PASSWORD {message}" in result.stderr and result.stdout == ""


_BLANK = set(b" \t\n\x0b\x0c\r\x00")
_FILE_BYTES = st.one_of(
    st.binary(max_size=40),
    st.lists(st.sampled_from([b"a", b" ", b"\n", b"\r", b"\x00", b"\t", b"\x1b", b"\x7f", "é".encode()]), max_size=8).map(b"".join),
    st.integers(4090, 4100).map(lambda n: b"y" * n + b"\n"),
)


@settings(max_examples=examples(60), derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(content=_FILE_BYTES)
def test_a_password_file_is_used_exactly_as_written_or_refused(tmp_path_factory, content):
    # the oracle: a file's password is its bytes less one final line break, and is used only
    # when it is not empty or blank, holds no control character and is at most 4096 bytes
    home = tmp_path_factory.mktemp("home")
    (home / "bin").mkdir()
    (home / "bin" / "opencode").write_text(FAKE_OPENCODE)
    (home / "bin" / "opencode").chmod(0o755)
    (home / "secret").write_bytes(content)
    password = content.removesuffix(b"\n")
    try:
        text = password.decode()
    except UnicodeDecodeError:
        text = None  # opencode decodes it as UTF-8: every invalid byte would read as U+FFFD
    usable = (
        text is not None
        and len(password) <= 4096
        and not set(password) <= _BLANK
        and not any(unicodedata.category(char) == "Cc" for char in text)
    )
    result = _entrypoint(home, *WEB, OPENCODE_SERVER_PASSWORD_FILE=str(home / "secret"), LC_ALL="C.UTF-8")
    if usable:
        assert result.returncode == 0, result.stderr
        assert (home / "password-seen").read_bytes() == password
    else:
        assert result.returncode == 78, result.stderr
        assert "the password in OPENCODE_SERVER_PASSWORD_FILE=" in result.stderr
        assert not (home / "password-seen").exists()


# -- the generated password's store ----------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        (b"", "is empty, or only blanks, line breaks or NULs"),
        (b"\n\n", "is empty, or only blanks, line breaks or NULs"),  # opencode: no password at all
        (b"\x00" * 24 + b"\n", "is empty, or only blanks, line breaks or NULs"),
        (b"abc\x00def\n", "holds a NUL byte"),
        (b"abc\r\n", "holds a carriage return (a CRLF line ending?)"),
        (b"z" * 5000, "is longer than 4096 bytes"),
    ],
)
def test_an_unusable_stored_password_is_replaced_and_the_log_says_so(home, stored, reason):
    store = home / STORE
    store.parent.mkdir(parents=True)
    store.write_bytes(stored)
    result = _entrypoint(home, *WEB)
    password = _served(result)[1]
    assert len(password) == 24 and store.read_text() == password + "\n"
    assert f"the password kept in {store} {reason}; it is replaced by a new one" in result.stderr


def test_the_store_is_never_read_through_a_link(home):
    store = home / STORE
    store.parent.mkdir(parents=True)
    guessable = home / "guessable"
    guessable.write_text("a-name-anyone-can-read\n")
    store.symlink_to(guessable)
    result = _entrypoint(home, *WEB)
    assert result.returncode == 78 and result.stdout == ""
    assert f"{store} is a symbolic link, not a regular file; remove it" in result.stderr


def test_the_new_password_is_never_written_through_a_link(home):
    store = home / STORE
    store.parent.mkdir(parents=True)
    outside = home / "outside-the-volume"
    Path(f"{store}.new").symlink_to(outside)
    result = _entrypoint(home, *WEB)
    assert result.returncode == 78 and result.stdout == ""
    assert f"{store}.new is a symbolic link, not a regular file" in result.stderr
    assert not outside.exists() and not store.exists()


def test_the_store_directory_is_never_followed_through_a_link(home):
    elsewhere = home / "elsewhere"
    elsewhere.mkdir()
    (home / STORE).parent.parent.mkdir(parents=True)
    (home / STORE).parent.symlink_to(elsewhere)
    result = _entrypoint(home, *WEB)
    assert result.returncode == 78 and result.stdout == ""
    assert f"{(home / STORE).parent} is a symbolic link; the generated password is not kept through one" in result.stderr
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("name", ["server-password", "server-password.new"])
@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_store_that_is_not_a_file_gets_a_clear_message(home, name, kind):
    path = (home / STORE).parent / name
    path.parent.mkdir(parents=True)
    if kind == "directory":
        path.mkdir()
    else:
        os.mkfifo(path)  # a write to it would block the start for good
    result = _entrypoint(home, *WEB)
    assert result.returncode == 78 and result.stdout == ""
    assert f"{path} is a {kind}, not a regular file; remove it" in result.stderr


def test_a_temporary_file_left_by_an_interrupted_start_is_replaced(home):
    store = home / STORE
    store.parent.mkdir(parents=True)
    Path(f"{store}.new").write_text("half a passw")
    password = _served(_entrypoint(home, *WEB))[1]
    assert store.read_text() == password + "\n" and not Path(f"{store}.new").exists()


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
        # after --hostname, opencode would read these as options of its own
        ({"OPENCODE_HOSTNAME": "--inspect"}, "OPENCODE_HOSTNAME must be an address or host name, got '--inspect'"),
        ({"OPENCODE_HOSTNAME": "-x"}, "OPENCODE_HOSTNAME must be an address or host name, got '-x'"),
    ],
)
def test_bad_bind_values_are_refused(home, env, message):
    result = _entrypoint(home, *WEB, **env)
    assert result.returncode == 64
    assert message in result.stderr


def _only_the_entrypoint_spoke(stderr: str) -> bool:
    """No line from bash itself (an arithmetic error, say): every line is the script's own."""
    return all(line.startswith("sandbox-entrypoint: ") for line in stderr.removesuffix("\n").split("\n"))


@pytest.mark.parametrize("value", ["010", "08", "0080", "00003000", "0x50", "1e3", "+80", "3000 ", "65536", "99999999999999999999"])
def test_a_port_is_decimal_without_a_leading_zero(home, value):
    # bash and curl read 010 as octal 8, opencode as 10; 08 was a bash arithmetic error
    result = _entrypoint(home, *WEB, SANDBOX_INSECURE_NO_AUTH="1", PORT=value)
    assert result.returncode == 64
    assert f"must be a port number from 1 to 65535, got '{value}' (decimal digits, no leading zero)" in result.stderr
    assert _only_the_entrypoint_spoke(result.stderr), result.stderr


_PORTS = st.one_of(
    st.integers(0, 70000).map(str),
    st.integers(0, 70000).map(lambda n: f"0{n}"),
    st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=8),
    st.text(alphabet="0123456789+-xe ٣$()[];`", max_size=7),
)


@settings(max_examples=examples(60), derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=_PORTS)
def test_a_port_reaches_opencode_as_given_or_is_refused(tmp_path_factory, value):
    home = tmp_path_factory.mktemp("home")
    (home / "bin").mkdir()
    (home / "bin" / "opencode").write_text(FAKE_OPENCODE)
    (home / "bin" / "opencode").chmod(0o755)
    result = _entrypoint(home, *WEB, SANDBOX_INSECURE_NO_AUTH="1", PORT=value, LC_ALL="C.UTF-8")
    if value == "":
        assert _served(result)[0] == list(WEB[1:])
    elif value.isascii() and value.isdigit() and not value.startswith("0") and int(value) <= 65535:
        assert _served(result)[0] == [*WEB[1:-1], value]
    else:
        assert result.returncode == 64, (value, result.stderr)
        assert "must be a port number from 1 to 65535" in result.stderr
    assert _only_the_entrypoint_spoke(result.stderr), result.stderr


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
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
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


@pytest.mark.parametrize(
    "env",
    [
        {"PORT": "80@192.0.2.1"},  # curl would read 192.0.2.1 as the host, 80 as a user name
        {"OPENCODE_PORT": "0x50"},
        {"PORT": "080"},
        {"PORT": "70000"},
        {"PORT": "80/elsewhere"},
    ],
)
def test_a_port_that_is_not_a_port_number_is_unhealthy_without_asking_anyone(env):
    result = _check("http://127.0.0.1:3000/", **env)
    assert result.returncode == 1
    assert result.stderr == "sandbox-healthcheck: OPENCODE_PORT / PORT must be a port number from 1 to 65535\n"


@pytest.mark.parametrize("address", ["192.0.2.1", "example.com", "evil@192.0.2.1", "127.0.0.1@192.0.2.1", "fe80::1"])
def test_the_check_asks_only_this_containers_loopback(server, address):
    # whatever OPENCODE_HOSTNAME says, the check never asks another machine: another address
    # or a name is asked as 127.0.0.1, where the test's server answers
    port = server.rsplit(":", 1)[1]
    result = _check(f"http://127.0.0.1:{port}/204", OPENCODE_HOSTNAME=address)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("timeout", ["0", "300", "-1", "4s"])
def test_the_check_always_has_a_time_limit(server, timeout):
    # curl's --max-time 0 is no limit at all
    result = _check(f"{server}/200", SANDBOX_HEALTHCHECK_TIMEOUT=timeout)
    assert result.returncode == 1 and "whole seconds from 1 to 299" in result.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/", "'/' is the root of the filesystem"),
        ("/etc", "'/etc' belongs to the system (/etc)"),
        ("/etc/sudoers.d", "'/etc/sudoers.d' belongs to the system (/etc)"),
        ("/usr/local/bin", "'/usr/local/bin' belongs to the system (/usr)"),
        ("/root/.ssh", "'/root/.ssh' belongs to the system (/root)"),
        ("/var", "'/var' is a directory of the system"),
        ("/var/lib", "'/var/lib' is a directory of the system"),
        ("/home", "'/home' is a directory of the system"),
        ("/tmp", "'/tmp' is a directory of the system"),
        ("/home/alice/.ssh", "'/home/alice/.ssh' is in another user's home"),
        ("relative/dir", "'relative/dir' is not an absolute path"),
        ("{home}/../../etc", "is not a normal path"),
        ("{home}//x", "is not a normal path"),
        ("{home}/x/", "is not a normal path"),
        ("{home}/ok:/etc", "'/etc' belongs to the system"),
    ],
)
def test_a_data_dir_the_user_must_not_own_stops_the_start(home, value, message):
    # the entrypoint chowns each data directory to the user through sudo: a value given with
    # `docker run -e SANDBOX_DATA_DIRS=...` must not reach a directory of the system
    result = _entrypoint(home, "true", SANDBOX_DATA_DIRS=value.format(home=home))
    assert result.returncode == 64, result.stderr
    assert message in result.stderr
    assert _only_the_entrypoint_spoke(result.stderr)


def test_a_data_dir_list_with_a_line_break_stops_the_start(home):
    # `read` would stop at the line break and drop the directories after it without a word
    result = _entrypoint(home, "true", SANDBOX_DATA_DIRS=f"{home}/a\n/etc")
    assert result.returncode == 64
    assert "SANDBOX_DATA_DIRS holds a line break or another control character" in result.stderr
    assert not (home / "a").exists()


def test_data_dirs_in_the_home_and_outside_the_system_trees_are_prepared(home, tmp_path):
    dirs = [home / "with space", home / ".local" / "share" / "opencode"]
    result = _entrypoint(home, "true", SANDBOX_DATA_DIRS=":".join(map(str, dirs)))
    assert result.returncode == 0, result.stderr
    assert all(d.is_dir() for d in dirs)

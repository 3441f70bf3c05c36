"""files/sandbox-entrypoint and files/sandbox-healthcheck, run for real."""

from __future__ import annotations

import http.server
import os
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
    environment = {"PATH": os.environ["PATH"], "HOME": str(home), **env}
    return subprocess.run([str(ENTRYPOINT), *args], env=environment, capture_output=True, text=True, timeout=30)


def test_entrypoint_prepares_opencode_dirs_and_becomes_the_command(tmp_path):
    result = _entrypoint(tmp_path, "sh", "-c", 'echo "pid=$$"; exit 7')
    assert result.returncode == 7
    assert result.stdout.startswith("pid=")
    for sub in (".config/opencode", ".local/share/opencode", ".local/state/opencode", ".cache/opencode"):
        assert (tmp_path / sub).is_dir(), sub


def test_entrypoint_honours_xdg_dirs(tmp_path):
    result = _entrypoint(tmp_path, "true", XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cfg" / "opencode").is_dir()
    assert not (tmp_path / ".config").exists()


def test_entrypoint_names_an_unwritable_dir_and_still_runs(tmp_path):
    blocker = tmp_path / ".cache"
    blocker.write_text("a file where a directory should be")
    result = _entrypoint(tmp_path, "echo", "ran")
    assert result.returncode == 0
    assert result.stdout == "ran\n"
    assert f"{blocker}/opencode is not writable" in result.stderr


def test_entrypoint_without_a_command_fails(tmp_path):
    result = _entrypoint(tmp_path)
    assert result.returncode == 64
    assert "no command to run" in result.stderr


class _Status(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(int(self.path.strip("/")))
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


@pytest.mark.parametrize("status", [200, 204, 302, 401])
def test_healthy_answers(server, status):
    result = _check(f"{server}/{status}")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize("status", [403, 404, 500, 503])
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

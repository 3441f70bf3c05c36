"""files/sandbox-fetch, run for real against a server on 127.0.0.1: the one download-and-check
procedure every fetching step of a generated Dockerfile calls (release, rustup, deb, script,
an apt repository's key)."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.scripts import FILES
from tests.integration.servers import FileServer

SCRIPT = FILES / "sandbox-fetch"
DATA = b"the bytes upstream serves\n"
DIGEST = hashlib.sha256(DATA).hexdigest()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("fetch-site")
    (root / "file.bin").write_bytes(DATA)
    server = FileServer(root)
    yield server.url
    server.stop()


def fetch(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("digest", [DIGEST, DIGEST.upper()], ids=["lowercase", "capitals"])
def test_the_file_is_written_when_its_digest_matches(site, tmp_path, digest):
    out = tmp_path / "file.bin"
    result = fetch("demo", f"{site}/file.bin", out, "--sha256", digest)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == DATA
    assert result.stdout == result.stderr == ""


def test_a_wrong_digest_fails_naming_the_download_and_leaves_no_file(site, tmp_path):
    out = tmp_path / "file.bin"
    result = fetch("demo (amd64)", f"{site}/file.bin", out, "--sha256", "0" * 64)
    assert result.returncode == 1
    assert result.stderr == "sandbox: sha256 mismatch for demo (amd64)\n"
    assert not out.exists()


def test_unverified_fetches_without_a_check(site, tmp_path):
    out = tmp_path / "file.bin"
    result = fetch("demo", f"{site}/file.bin", out, "--unverified")
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == DATA


def test_a_failed_download_names_the_download_and_its_url(site, tmp_path):
    result = fetch("demo", f"{site}/missing.bin", tmp_path / "file.bin", "--sha256", DIGEST)
    assert result.returncode == 1
    assert result.stderr.strip().endswith(f"sandbox: download failed for demo: {site}/missing.bin")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # no check named: a template that lost its digest must not fetch unchecked
        (("demo", "http://127.0.0.1:1/x", "out"), "usage: sandbox-fetch"),
        (("demo", "http://127.0.0.1:1/x", "out", "--sha256"), "expected --sha256 DIGEST or --unverified"),
        (("demo", "http://127.0.0.1:1/x", "out", "--unverified", "extra"), "expected --sha256 DIGEST or --unverified"),
        (("demo", "http://127.0.0.1:1/x", "out", "--sha256", "abc"), "--sha256 needs 64 hex digits, not 'abc'"),
        (("demo", "http://127.0.0.1:1/x", "out", "--sha256", "g" * 64), "--sha256 needs 64 hex digits"),
        (("demo", "file:///etc/passwd", "out", "--unverified"), "'file:///etc/passwd' is not an http(s) URL"),
        (("demo", "-K/etc/passwd", "out", "--unverified"), "is not an http(s) URL"),
    ],
)
def test_bad_arguments_fail_before_anything_is_fetched(tmp_path, args, message):
    result = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr
    assert not (tmp_path / "out").exists()

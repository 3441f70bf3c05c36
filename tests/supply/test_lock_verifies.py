"""`sandbox lock` records only what the spec's own verification accepts. A locked digest
replaces the upstream checksum file in the build, so a download the checksum file rejects
must fail the lock (exit 3, both digests named), not become the pinned digest; and a
download resumed from the wrong offset is refused, not hashed into a digest of no file.
All upstreams run on 127.0.0.1 in the test."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator

import pytest

from generator.lockfile import Lock

from .upstream_specs import release_tool, serve_release, write_spec

MANIFEST = b'{"schemaVersion": 2, "manifests": []}'
SUMS = "/gh/owner/rg/releases/download/1.0.0/SHA256SUMS"
AMD64 = "rg-1.0.0-x86_64.tar.gz"
ARM64 = "rg-1.0.0-aarch64.tar.gz"


def _sums(served: dict[str, str], **override: str) -> str:
    listed = {AMD64: served["amd64"], ARM64: served["arm64"], **override}
    return "".join(f"{sha}  {name}\n" for name, sha in listed.items())


def test_a_download_the_checksum_file_rejects_is_not_locked(tmp_path, upstream, sandbox):
    served = serve_release(upstream)
    upstream.image("library/ubuntu", "24.04", MANIFEST)
    other = hashlib.sha256(b"what upstream published").hexdigest()
    upstream.serve(SUMS, _sums(served, **{AMD64: other}))
    spec = write_spec(tmp_path, release_tool(upstream))

    result = sandbox(spec, "lock")

    assert result.returncode == 3, result.stderr
    # both digests named: the bytes served, and what the checksum file lists
    assert f"the download's sha256 is {served['amd64']}, but the checksum file" in result.stderr
    assert f"lists {other} for {AMD64}; not locked" in result.stderr
    lock = Lock.read(tmp_path / "sandbox.lock")
    assert "amd64" not in lock.artifacts["rg"]  # the rejected digest is not recorded
    assert lock.artifacts["rg"]["arm64"].sha256 == served["arm64"]  # the accepted one is
    # and the build keeps checking the checksum file for amd64
    assert sandbox(spec, "generate").returncode == 0
    assert "--checksums SHA256SUMS" in (tmp_path / "Dockerfile").read_text()
    found = sandbox(spec, "audit", "--format", "json")
    assert '"kind": "checksum-file"' in found.stdout and "no digest in sandbox.lock for amd64" in found.stdout


@pytest.mark.parametrize(
    ("listing", "note"),
    [
        ("0" * 64 + "  some-other-file.tar.gz\n", f"the checksum file lists no sha256 for {AMD64}"),
        ("", f"the checksum file lists no sha256 for {AMD64}"),
        (f"not-a-digest\x1b[2J  {AMD64}\n", f"the checksum file lists 'not-a-digest\\\\x1b[2J' for {AMD64}, which is not a sha256"),
        # lines end at \n for the build's awk: the name on a CRLF line is not the asset's
        (f"{'0' * 64}  {AMD64}\r\n", f"the checksum file lists no sha256 for {AMD64}"),
    ],
    ids=["not-listed", "empty", "not-a-digest", "crlf"],
)
def test_a_checksum_file_that_does_not_vouch_for_the_download_fails_the_lock(tmp_path, upstream, sandbox, listing, note):
    serve_release(upstream)
    upstream.serve(SUMS, listing)
    spec = write_spec(tmp_path, release_tool(upstream))

    result = sandbox(spec, "lock", "rg", "--platform", "linux/amd64")

    assert result.returncode == 3, result.stderr
    assert note in result.stderr
    assert "\x1b" not in result.stderr
    assert "rg" not in Lock.read(tmp_path / "sandbox.lock").artifacts


def test_a_missing_checksum_file_fails_the_lock(tmp_path, upstream, sandbox):
    serve_release(upstream)
    del upstream.routes[SUMS]  # the build could not fetch it either
    spec = write_spec(tmp_path, release_tool(upstream))

    result = sandbox(spec, "lock", "rg", "--platform", "linux/amd64")

    assert result.returncode == 3
    assert f"{upstream.base}{SUMS}: HTTP 404 (not found)" in result.stderr


@pytest.mark.parametrize("spelling", ["plain", "binary-mode", "dot-slash", "uppercase", "bare", "bsd"])
def test_each_spelling_the_build_accepts_is_accepted_by_the_lock(tmp_path, upstream, sandbox, spelling):
    served = serve_release(upstream)
    sha = served["amd64"]
    listing, extra = {
        "plain": (f"{sha}  {AMD64}\n", {}),
        "binary-mode": (f"{sha} *{AMD64}\n", {}),
        "dot-slash": (f"{sha}  ./{AMD64}\n", {}),
        "uppercase": (f"{sha.upper()}  {AMD64}\n", {}),
        "bare": (f"{sha}\n", {}),
        "bsd": (f"SHA256 ({AMD64}) = {sha}\n", {"format": "bsd"}),
    }[spelling]
    upstream.serve(SUMS, listing)
    tool = release_tool(upstream)
    tool["checksum_file"] = {**tool["checksum_file"], **extra}
    spec = write_spec(tmp_path, tool, platforms=["linux/amd64"])

    result = sandbox(spec, "lock", "rg", "--platform", "linux/amd64")

    assert result.returncode == 0, result.stderr
    assert Lock.read(tmp_path / "sandbox.lock").artifacts["rg"]["amd64"].sha256 == sha
    # what `list`, `audit --json` and the Dockerfile say is what was checked
    listed = sandbox(spec, "list", "--format", "json")
    assert "sha256 from sandbox.lock (matched the checksum file when locked)" in listed.stdout


# -- resuming: the part must continue the bytes hashed so far ---------------------------------


class Resumer:
    """Serves DATA, cutting the first answer after CUT bytes; the answer to the Range request
    that follows is ``resume(offset)``: (status line, Content-Range, body)."""

    DATA = bytes(range(256)) * 64
    CUT = 5000

    def __init__(self, resume) -> None:
        self.resume = resume
        self.asked: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    request += chunk
                ranged = [line for line in request.decode().split("\r\n") if line.lower().startswith("range:")]
                self.asked.append(ranged[0] if ranged else "")
                try:
                    if not ranged:
                        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(self.DATA)}\r\nConnection: close\r\n\r\n"
                        conn.sendall(head.encode() + self.DATA[: self.CUT])
                        continue
                    offset = int(ranged[0].split("=")[1].rstrip("-"))
                    status, content_range, body = self.resume(offset)
                    header = f"Content-Range: {content_range}\r\n" if content_range else ""
                    conn.sendall(f"HTTP/1.1 {status}\r\n{header}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def resumer() -> Iterator:
    servers: list[Resumer] = []

    def start(resume) -> Resumer:
        servers.append(Resumer(resume))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _unverified_rg(directory, base):
    return write_spec(
        directory,
        {
            "name": "rg",
            "method": "release",
            "version": "1.0.0",
            "url": base + "/{asset}",
            "assets": {"amd64": AMD64},
            "binaries": [{"path": "{stem}/rg", "name": "rg"}],
            "unverified": "test: what the lock hashes is what is tested",
        },
        platforms=["linux/amd64"],
    )


DATA, SIZE = Resumer.DATA, len(Resumer.DATA)


@pytest.mark.parametrize(
    ("resume", "note"),
    [
        # the whole file again, labelled as a part from byte 0
        (lambda offset: ("206 Partial Content", f"bytes 0-{SIZE - 1}/{SIZE}", DATA),
         "resumed at byte 5000, but the answer starts at byte 0"),
        # a part from further on: bytes skipped
        (lambda offset: ("206 Partial Content", f"bytes {offset + 10}-{SIZE - 1}/{SIZE}", DATA[offset + 10 :]),
         "resumed at byte 5000, but the answer starts at byte 5010"),
        # a part with no range stated at all
        (lambda offset: ("206 Partial Content", "", DATA[offset:]), "resumed at byte 5000, but the answer states no byte range"),
        # a part of a file of another length: the file changed between the two requests
        (lambda offset: ("206 Partial Content", f"bytes {offset}-{SIZE}/{SIZE + 1}", DATA[offset:] + b"!"),
         f"the file was {SIZE} bytes, but the resumed answer says {SIZE + 1}: it changed"),
    ],
    ids=["from-zero", "skips-bytes", "no-range", "other-length"],
)  # fmt: skip
def test_a_resumed_download_from_the_wrong_offset_is_refused(tmp_path, resumer, sandbox, resume, note, fails_if_blocked):
    server = resumer(resume)
    spec = _unverified_rg(tmp_path, server.base)

    result = sandbox(spec, "lock", "rg")

    assert result.returncode == 3, (result.stdout, result.stderr)
    assert f"{server.base}/{AMD64}: {note}" in result.stderr
    assert server.asked == ["", "Range: bytes=5000-"]  # refused at once: asking again would not help
    assert "rg" not in Lock.read(tmp_path / "sandbox.lock").artifacts


def test_a_resumed_download_from_the_right_offset_is_the_files_digest(tmp_path, resumer, sandbox, fails_if_blocked):
    server = resumer(lambda offset: ("206 Partial Content", f"bytes {offset}-{SIZE - 1}/{SIZE}", DATA[offset:]))
    spec = _unverified_rg(tmp_path, server.base)

    result = sandbox(spec, "lock", "rg")

    assert result.returncode == 0, result.stderr
    assert Lock.read(tmp_path / "sandbox.lock").artifacts["rg"]["amd64"].sha256 == hashlib.sha256(DATA).hexdigest()
    # nothing upstream publishes checked these bytes: `list` says so rather than imply it
    listed = sandbox(spec, "list", "--format", "json")
    assert "pinned-on-first-use (sha256 pinned on first use by sandbox lock (the bytes served when locked, " in listed.stdout


def test_a_server_that_ignores_the_range_is_hashed_from_the_start(tmp_path, resumer, sandbox, fails_if_blocked):
    server = resumer(lambda offset: ("200 OK", "", DATA))
    spec = _unverified_rg(tmp_path, server.base)

    result = sandbox(spec, "lock", "rg")

    assert result.returncode == 0, result.stderr
    assert Lock.read(tmp_path / "sandbox.lock").artifacts["rg"]["amd64"].sha256 == hashlib.sha256(DATA).hexdigest()

"""The supply commands against a hostile upstream on 127.0.0.1: answers that never finish,
never end, nest without end, have the wrong shape or redirect where they must not. Each
is that upstream's failure (exit 3, the URL and what went wrong in its row or message),
never a traceback, a hang or a token sent to another host. Each runs in-process under an
alarm, so a regression fails the test instead of hanging the suite."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .fake_upstream import FakeUpstream
from .upstream_specs import commented_spec, serve_sources, write_spec

pytestmark = pytest.mark.usefixtures("fails_if_blocked")

#: how one connection is answered, given its socket and request path
Answer = Callable[[socket.socket, str], None]


class HostileServer:
    """Answers every request on raw sockets, the way no well-behaved HTTP server would."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stopped = threading.Event()
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            try:
                self.answer(conn, request.split(b" ")[1].decode())
            except OSError:  # the client gave up: what these tests want
                pass

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()
        for conn in self.connections:  # a client still waiting on one gets its end now
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Answer], HostileServer]]:
    servers: list[HostileServer] = []
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    def start(answer: Answer) -> HostileServer:
        server = HostileServer(answer)
        servers.append(server)
        monkeypatch.setenv("SANDBOX_UPSTREAM_PYPI", server.base)
        return server

    yield start
    for server in servers:
        server.close()


def ruff_spec(directory: Path) -> Path:
    return write_spec(directory, {"name": "ruff", "method": "uv", "version": "0.4.0"})


def answer(body: bytes, status: str = "200 OK", headers: str = "Content-Type: application/json\r\n") -> Answer:
    def send(conn: socket.socket, path: str) -> None:
        conn.sendall(f"HTTP/1.1 {status}\r\n{headers}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)

    return send


def releases(versions: object) -> Answer:
    return answer(json.dumps({"releases": versions}).encode())


DATED = [{"upload_time_iso_8601": "2020-01-01T00:00:00Z"}]


@pytest.mark.parametrize(
    ("served", "note"),
    [
        (answer(b"[" * 200_000), "the answer is JSON nested too deeply to be an upstream's"),
        (releases([1, 2]), "/pypi/ruff/json: unexpected answer (releases is not a JSON object)"),
        (releases({"1.0.0": 5}), "/pypi/ruff/json: unexpected answer (releases['1.0.0'] is not a JSON array)"),
        (releases({"0." + "9" * 5000: DATED}), "no stable release comparable with '0.4.0' upstream"),
        (releases({"0.\u0669.0": DATED}), "no stable release comparable with '0.4.0' upstream"),
        (answer(b"", "302 Found", "Location: ftp://127.0.0.1:1/x\r\n"), "HTTP 302 redirects to ftp scheme; only http(s) is followed"),
    ],
    ids=["deep-json", "releases-list", "files-number", "thousands-of-digits", "arabic-indic-digit", "redirect-to-ftp"],
)  # fmt: skip
def test_a_bad_answer_is_that_upstreams_failure(tmp_path, hostile, sandbox, served: Answer, note: str) -> None:
    hostile(served)
    result = sandbox(ruff_spec(tmp_path), "outdated", "--format", "json", "ruff")
    assert result.returncode == 3, result.stderr
    assert note in json.loads(result.stdout)[0]["note"]
    assert "1 upstream(s) could not be asked: ruff" in result.stderr


#: how long the slow answers go on: past any --timeout tested here, and short of the alarm, so
#: that a client that does not cut them off fails its test instead of hanging it
SLOW_FOR = 12


def _slow_headers(conn: socket.socket, path: str) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    end = time.monotonic() + SLOW_FOR
    while time.monotonic() < end:  # a header line now and then: each read of the client's succeeds
        conn.sendall(b"X-Wait: 1\r\n")
        time.sleep(0.3)


def _slow_body(conn: socket.socket, path: str) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
    end = time.monotonic() + SLOW_FOR
    while time.monotonic() < end:
        conn.sendall(b" ")
        time.sleep(0.3)


def _silent(conn: socket.socket, path: str) -> None:
    time.sleep(SLOW_FOR)


@pytest.mark.parametrize("served", [_slow_headers, _slow_body, _silent], ids=["slow-headers", "slow-body", "silent"])
def test_an_answer_that_never_finishes_ends_at_the_timeout(tmp_path, hostile, sandbox, served: Answer) -> None:
    server = hostile(served)
    result = sandbox(ruff_spec(tmp_path), "outdated", "--format", "json", "--timeout", "1", "ruff")
    assert result.returncode == 3, result.stderr
    # the deadline's own message: a client without one gets the answer's end after SLOW_FOR s
    # and another message (and the module's alarm stops one that waits for ever)
    assert json.loads(result.stdout)[0]["note"] == f"{server.base}/pypi/ruff/json: no complete answer within 1 s (--timeout)"


def _endless(conn: socket.socket, path: str) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[")
    chunk = b"1," * (1 << 19)
    for _ in range(160):  # 160 MiB, past the limit (a client without one reads it all)
        conn.sendall(chunk)


def test_an_endless_answer_is_cut_off_at_its_size_limit(tmp_path, hostile, sandbox) -> None:
    hostile(_endless)
    result = sandbox(ruff_spec(tmp_path), "outdated", "--format", "json", "ruff")
    assert result.returncode == 3, result.stderr
    assert "the answer is larger than 128 MiB; no upstream answer is that large" in json.loads(result.stdout)[0]["note"]


@pytest.mark.parametrize("base", ["pypi.org", "file:///etc", "ftp://127.0.0.1:1"])
def test_an_upstream_base_that_is_not_http_is_refused(tmp_path, sandbox, monkeypatch, base: str) -> None:
    monkeypatch.setenv("SANDBOX_UPSTREAM_PYPI", base)
    result = sandbox(ruff_spec(tmp_path), "outdated", "--format", "json", "ruff")
    assert result.returncode == 3, result.stderr
    assert json.loads(result.stdout)[0]["note"] == f"{base}/pypi/ruff/json: not an http(s) URL"


def test_the_github_token_does_not_follow_a_redirect_to_another_host(tmp_path, upstream, sandbox, monkeypatch) -> None:
    serve_sources(upstream)
    with FakeUpstream() as elsewhere:
        elsewhere.serve_json("/moved", [{"tag_name": "15.2.0", "published_at": "2020-01-01T00:00:00Z"}])
        upstream.serve(
            "/api/repos/BurntSushi/ripgrep/releases?per_page=100", b"", status=302, headers={"Location": f"{elsewhere.base}/moved"}
        )
        monkeypatch.setenv("GITHUB_TOKEN", "secret-token")
        result = sandbox(commented_spec(upstream, tmp_path), "outdated", "--format", "json", "ripgrep")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["latest"] == "15.2.0"  # the redirect was followed
    assert upstream.asked("/api/repos/")[0].headers.get("Authorization") == "Bearer secret-token"
    assert [r.headers.get("Authorization") for r in elsewhere.asked("/moved")] == [None]


def test_a_download_that_trickles_ends_at_the_timeout(tmp_path, hostile, sandbox) -> None:
    server = hostile(_slow_body)
    spec = write_spec(
        tmp_path,
        {
            "name": "rg",
            "method": "release",
            "version": "1.0.0",
            "url": server.base + "/owner/rg/releases/download/{version}/{asset}",
            "assets": {"amd64": "rg-{version}-x86_64.tar.gz", "arm64": "rg-{version}-aarch64.tar.gz"},
            "binaries": [{"path": "{stem}/rg", "name": "rg"}],
            "unverified": "test: the lock is what is tested",
        },
    )
    result = sandbox(spec, "lock", "--timeout", "1", "rg")
    assert result.returncode == 3, result.stderr
    assert "2 download(s) failed" in result.stderr
    assert f"rg amd64: {server.base}/owner/rg/releases/download/1.0.0/rg-1.0.0-x86_64.tar.gz: less than 64 KiB in 1 s" in result.stderr


@pytest.mark.parametrize(
    ("link", "shown"),
    [
        # not a link at all: spaces, a line break, markup and an escape sequence; left out
        ("https://example.invalid/x | forged | row |\n</details><img src=x>\x1b[2J", ""),
        ("https://example.invalid/x\u202e/gpj.exe", ""),
        # a link, shown as text in a code span: GitHub neither follows nor previews it
        ("https://example.invalid/notes?from=@octocat", "`https://example.invalid/notes?from=@octocat`"),
    ],
    ids=["markup", "bidi", "plain"],
)
def test_a_release_link_cannot_break_the_changelog_table(tmp_path, upstream, sandbox, link: str, shown: str) -> None:
    serve_sources(upstream)
    upstream.github_releases("BurntSushi/ripgrep", [{"tag_name": "15.2.0", "published_at": "2020-01-01T00:00:00Z", "html_url": link}])
    spec = commented_spec(upstream, tmp_path)
    changelog = tmp_path / "changes.md"
    result = sandbox(spec, "update", "--no-lock", "--changelog", str(changelog), "ripgrep")
    assert result.returncode == 0, result.stderr
    assert changelog.read_text(encoding="utf-8").splitlines()[2] == f"| ripgrep | 15.1.0 | 15.2.0 | github:BurntSushi/ripgrep | {shown} |"


@pytest.mark.parametrize(
    "tag",
    ["15.2.0\u202e", "15.2.0 [x](https://evil.example)", "\u200b15.2.0", "15.2.0\n@octocat", "1" + ".0" * 100],
    ids=["bidi", "markdown-link", "zero-width", "line-break-mention", "too-long"],
)
def test_an_upstream_version_of_another_shape_is_never_offered(tmp_path, upstream, sandbox, tag: str) -> None:
    serve_sources(upstream)
    upstream.github_releases(
        "BurntSushi/ripgrep",
        [{"tag_name": tag, "published_at": "2020-01-02T00:00:00Z"}, {"tag_name": "15.1.5", "published_at": "2020-01-01T00:00:00Z"}],
    )
    result = sandbox(commented_spec(upstream, tmp_path), "outdated", "--format", "json", "ripgrep")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["latest"] == "15.1.5"


def rg_spec(directory: Path, base: str) -> Path:
    return write_spec(
        directory,
        {
            "name": "rg",
            "method": "release",
            "version": "1.0.0",
            "url": base + "/owner/rg/releases/download/{version}/{asset}",
            "assets": {"amd64": "rg-{version}-x86_64.tar.gz", "arm64": "rg-{version}-aarch64.tar.gz"},
            "binaries": [{"path": "{stem}/rg", "name": "rg"}],
            "unverified": "test: the lock is what is tested",
        },
    )


@pytest.mark.parametrize(
    "header",
    ["Content-Range: bytes 0-3/lots", "Content-Range: bytes 0-3/" + "9" * 5000, "Content-Range: bytes 0-3/\u0663"],
    ids=["words", "thousands-of-digits", "arabic-indic-digit"],
)
def test_a_download_with_a_nonsense_length_is_hashed_as_it_comes(tmp_path, hostile, sandbox, header: str) -> None:
    server = hostile(answer(b"data", headers=f"{header}\r\n"))
    result = sandbox(rg_spec(tmp_path, server.base), "lock", "rg")
    assert result.returncode == 0, result.stderr
    assert "locked   rg amd64  sha256:3a6eb0790f39ac87…  4 bytes" in result.stdout


def _registry_handing_out(token: str, realm: str | None = None) -> Answer:
    """A registry that asks for a token, and a token service that hands out ``token``."""

    def send(conn: socket.socket, path: str) -> None:
        if path.startswith("/token"):
            answer(json.dumps({"token": token}).encode())(conn, path)
        else:
            challenge = f'WWW-Authenticate: Bearer realm="{realm or base[0] + "/token"}",service="test"\r\n'
            answer(b"{}", "401 Unauthorized", challenge)(conn, path)

    base: list[str] = []
    send.base = base  # type: ignore[attr-defined]
    return send


@pytest.mark.parametrize(
    ("token", "realm", "note"),
    [
        ("abc\r\nX-Injected: 1", None, "cannot be asked (Invalid header value"),
        # (the fragment drops the query: a realm of file:///dev/zero# was read for ever)
        (
            "abc",
            "file:///etc/hostname#",
            "file:///etc/hostname#?scope=repository%3Alibrary%2Fubuntu%3Apull&service=test: not an http(s) URL",
        ),
    ],
    ids=["token-with-a-line-break", "realm-a-local-file"],
)
def test_a_registry_token_flow_that_is_not_http_is_refused(tmp_path, hostile, sandbox, monkeypatch, token, realm, note) -> None:
    served = _registry_handing_out(token, realm)
    server = hostile(served)
    served.base.append(server.base)  # type: ignore[attr-defined]
    monkeypatch.setenv("SANDBOX_UPSTREAM_REGISTRY", server.base)
    result = sandbox(ruff_spec(tmp_path), "outdated", "--format", "json", "base")
    assert result.returncode == 3, result.stderr
    assert note in json.loads(result.stdout)[0]["note"]


#: an upstream's answer in another shape than its API documents: (path, answer, tool, what
#: its row says; None: the odd part is optional and the row is read without it)
ODD_SHAPES = [
    ("/npm/prettier", {"versions": ["3.2.0"]}, "prettier", "unexpected answer (versions is not a JSON object)"),
    ("/npm/prettier", {"versions": {"3.2.0": 7}, "time": [1], "dist-tags": "x"}, "prettier", None),
    ("/crates/api/v1/crates/tokei", {"versions": {"num": "12.1.3"}}, "tokei", "unexpected answer (versions is not a JSON array)"),
    ("/api/repos/BurntSushi/ripgrep/releases?per_page=100", [{"tag_name": "15.2.0", "html_url": 5}], "ripgrep", None),
    ("/node/index.json", {"version": "v21.1.0"}, "node", "unexpected answer (the answer is not a JSON array)"),
    # a version that is not a string: str() made 15.2 of a number and "{...}" of an object
    (
        "/api/repos/BurntSushi/ripgrep/releases?per_page=100",
        [{"tag_name": 15.2}],
        "ripgrep",
        "unexpected answer (tag_name is not a JSON string)",
    ),
    ("/crates/api/v1/crates/tokei", {"versions": [{"num": {"major": 13}}]}, "tokei", "unexpected answer (num is not a JSON string)"),
    ("/node/index.json", [{"version": ["v22.0.0"]}], "node", "unexpected answer (version is not a JSON string)"),
]


@pytest.mark.parametrize(("path", "data", "tool", "note"), ODD_SHAPES, ids=[f"{case[2]}-{i}" for i, case in enumerate(ODD_SHAPES)])
def test_an_answer_of_another_shape_is_read_or_refused_never_a_traceback(tmp_path, upstream, sandbox, path, data, tool, note):
    serve_sources(upstream)
    upstream.serve_json(path, data)
    result = sandbox(commented_spec(upstream, tmp_path), "outdated", "--format", "json", tool)
    assert result.stdout, result.stderr
    row = json.loads(result.stdout)[0]
    if note is None:
        assert result.returncode == 0, result.stderr
        assert row["latest"] and not row.get("note")
    else:
        assert result.returncode == 3, result.stderr
        assert note in row["note"]

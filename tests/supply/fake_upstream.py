"""A fake of every upstream the supply commands talk to, served on 127.0.0.1.

One HTTP server plays all of them under different path prefixes: GitHub's releases API,
its commits and compare API (a linear branch history that answers ``until=`` queries),
release downloads, PyPI's JSON API, the npm registry, crates.io, the Go module proxy, the
Node/Python/Go release indexes, and a registry v2 API with Docker Hub's anonymous token
flow. Tests register what each serves; every request is logged so tests can check what
was asked (and which headers went where).
"""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: the path prefix of each upstream on the fake server (env name suffix -> prefix)
PREFIXES = {
    "github": "/gh",
    "github_api": "/api",
    "pypi": "/pypi-host",
    "npm": "/npm",
    "crates": "/crates",
    "goproxy": "/goproxy",
    "node_index": "/node",
    "python_index": "/python",
    "go_index": "/go",
    "registry": "",
}

TOKEN = "fake-registry-token"


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: break the connection after this many body bytes, for this many requests
    cut_after: int | None = None
    cuts_left: int = 0
    #: bearer token the request must carry (registry endpoints)
    token: str | None = None


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


class FakeUpstream:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        #: path prefix -> answer computed from the full request path (status, JSON body)
        self.handlers: dict[str, Callable[[str], tuple[int, Any]]] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeUpstream:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what the upstreams serve ---------------------------------------------------------
    def env(self) -> dict[str, str]:
        return {f"SANDBOX_UPSTREAM_{name.upper()}": self.base + prefix for name, prefix in PREFIXES.items()}

    def url(self, upstream: str, path: str) -> str:
        return f"{self.base}{PREFIXES[upstream]}{path}"

    def serve(self, path: str, body: bytes | str, status: int = 200, **kwargs: Any) -> str:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(status, data, **kwargs)
        return self.base + path

    def serve_json(self, path: str, data: Any, status: int = 200, headers: dict[str, str] | None = None, **kwargs: Any) -> str:
        headers = {"Content-Type": "application/json", **(headers or {})}
        return self.serve(path, json.dumps(data), status, headers=headers, **kwargs)

    def artifact(self, upstream: str, path: str, data: bytes, **kwargs: Any) -> str:
        """Serve a downloadable file; returns its sha256 (computed here, from these bytes)."""
        self.serve(PREFIXES[upstream] + path, data, **kwargs)
        return hashlib.sha256(data).hexdigest()

    def github_releases(self, repo: str, releases: list[dict[str, Any]]) -> None:
        self.serve_json(f"/api/repos/{repo}/releases?per_page=100", releases)

    def github_commits(self, repo: str, history: list[tuple[str, str]], branch: str = "master", default: bool = True) -> None:
        """A branch whose commits are ``history``: (sha, ISO committer date), newest first.

        Serves the head (``commits/{branch}``), the listing with ``sha=``/``until=``/``per_page=``
        filtered as GitHub does, ``compare/{a}...{b}`` for commits of this history, and, if
        ``default``, the repository record naming ``branch`` as the default branch.
        """
        api = f"/api/repos/{repo}"

        def commit(sha: str, date: str) -> dict[str, Any]:
            return {
                "sha": sha,
                "html_url": f"https://example.invalid/{repo}/commit/{sha}",
                "commit": {"author": {"date": date}, "committer": {"date": date}, "message": f"commit {sha[:7]}"},
            }

        head_sha, head_date = history[0]
        self.serve_json(f"{api}/commits/{urllib.parse.quote(branch, safe='')}", commit(head_sha, head_date))
        if default:
            self.serve_json(api, {"full_name": repo, "default_branch": branch})

        def listing(path: str) -> tuple[int, Any]:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
            if query.get("sha", [branch]) != [branch]:
                return 404, {"message": "No commit found for SHA"}
            until = query.get("until", [None])[0]
            # ISO dates in one format compare as strings
            kept = [commit(sha, date) for sha, date in history if until is None or date <= until]
            return 200, kept[: int(query.get("per_page", ["30"])[0])]

        def compare(path: str) -> tuple[int, Any]:
            old, _, new = path.rsplit("/", 1)[1].partition("...")
            order = [sha for sha, _ in history]
            if old not in order or new not in order:
                return 404, {"message": "Not Found"}
            status = "identical" if old == new else "ahead" if order.index(new) < order.index(old) else "behind"
            return 200, {"status": status}

        self.handlers[f"{api}/commits?"] = listing
        self.handlers[f"{api}/compare/"] = compare

    def image(self, repository: str, tag: str, manifest: bytes) -> str:
        """A registry v2 image behind an anonymous bearer token; returns its digest."""
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        challenge = self._registry_auth(repository)
        self.serve(
            f"/v2/{repository}/manifests/{tag}",
            manifest,
            headers={
                "Content-Type": "application/vnd.oci.image.index.v1+json",
                "Docker-Content-Digest": digest,
                "WWW-Authenticate": challenge,
            },
            token=TOKEN,
        )
        return digest

    def _registry_auth(self, repository: str) -> str:
        """The token endpoint for pulling ``repository``; returns the challenge to send."""
        self.serve_json(f"/token?scope=repository%3A{repository.replace('/', '%2F')}%3Apull&service=fake-registry", {"token": TOKEN})
        return f'Bearer realm="{self.base}/token",service="fake-registry"'

    def tags(self, repository: str, tags: list[str]) -> None:
        challenge = self._registry_auth(repository)
        self.serve_json(
            f"/v2/{repository}/tags/list?n=10000", {"name": repository, "tags": tags},
            headers={"Content-Type": "application/json", "WWW-Authenticate": challenge}, token=TOKEN,
        )  # fmt: skip

    def asked(self, path_part: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if path_part in r.path]

    # -- the server -----------------------------------------------------------------------
    def _handler(self) -> Callable[..., BaseHTTPRequestHandler]:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self._answer(head=True)

            def do_GET(self) -> None:
                self._answer(head=False)

            def _answer(self, head: bool) -> None:
                with upstream._lock:
                    upstream.requests.append(Request(self.command, self.path, dict(self.headers)))
                    route = upstream.routes.get(self.path)
                    cut = None
                    if route and route.cut_after is not None and route.cuts_left > 0:
                        route.cuts_left -= 1
                        cut = route.cut_after
                if route is None:
                    for prefix, handler in upstream.handlers.items():
                        if self.path.startswith(prefix):
                            status, data = handler(self.path)
                            self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json"}, head)
                            return
                    self._send(404, b'{"message": "Not Found"}', {"Content-Type": "application/json"}, head)
                    return
                if route.token and self.headers.get("Authorization") != f"Bearer {route.token}":
                    challenge = route.headers.get("WWW-Authenticate", "")
                    self._send(401, b"{}", {"WWW-Authenticate": challenge, "Content-Type": "application/json"}, head)
                    return
                body, status, headers = route.body, route.status, dict(route.headers)
                start = _range_start(self.headers.get("Range"))
                if status == 200 and start is not None and start < len(body):
                    headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
                    body, status = body[start:], 206
                if cut is not None:
                    self._send_cut(status, body, headers, cut)
                    return
                self._send(status, body, headers, head)

            def _send(self, status: int, body: bytes, headers: dict[str, str], head: bool) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _send_cut(self, status: int, body: bytes, headers: dict[str, str], cut: int) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.close_connection = True

        return Handler


def _range_start(value: str | None) -> int | None:
    if not value or not value.startswith("bytes=") or not value.endswith("-"):
        return None
    number = value[len("bytes=") : -1]
    return int(number) if number.isdigit() else None

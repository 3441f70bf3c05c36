"""HTTP for the supply commands (standard library only): JSON APIs and hashed downloads.

Every failure becomes an ``UpstreamError`` naming the URL; "too many requests" becomes a
``RateLimitError`` saying when to retry. The GitHub token is only ever sent to the
GitHub API base, never to download hosts or other APIs.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import Message
from typing import IO, Any

from generator.errors import RateLimitError, UpstreamError

USER_AGENT = "opencode-sandbox-supply (+https://github.com/pRizz/opencode-cloud)"
_CHUNK = 1 << 16
#: how often a download that broke off mid-body is resumed with a Range request
_RESUMES = 3
#: the largest API answer kept in memory (PyPI's JSON for a project with years of wheels is
#: tens of MB); a larger or endless answer is refused at this size
MAX_ANSWER_BYTES = 128 << 20
#: the largest download hashed (toolchains are a few hundred MB); an endless one stops here
MAX_DOWNLOAD_BYTES = 4 << 30


@dataclass(frozen=True)
class Response:
    status: int
    headers: Message
    body: bytes

    def json(self, url: str) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise UpstreamError(f"{url}: the answer is not JSON ({exc})") from None
        except RecursionError:
            raise UpstreamError(f"{url}: the answer is JSON nested too deeply to be an upstream's") from None


class _Watch:
    """A deadline on one request: when it passes, the request's socket is shut down, so a
    blocked read returns and the request fails where it is. The socket timeout alone is
    per read: a server that sends a byte now and then would never trip it.

    ``arm`` starts the deadline (again, for a download that made progress); ``disarm``
    stops it. The socket is handed over by the connection classes below as it opens."""

    current = threading.local()

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.sock: socket.socket | None = None
        self.expired = False
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def arm(self) -> None:
        self.disarm()
        self._timer = threading.Timer(self.seconds, self.expire)
        self._timer.daemon = True
        self._timer.start()

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def opened(self, sock: socket.socket) -> None:
        with self._lock:
            self.sock = sock
            if self.expired:
                sock.shutdown(socket.SHUT_RDWR)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            if self.sock is not None:
                try:
                    # the blocked read returns (end of stream): the request fails where it is
                    self.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _watch_sockets(connection: Any) -> None:
    """Hand each socket ``connection`` opens to the watch of the request on this thread."""
    create: Callable[..., socket.socket] = connection._create_connection

    def create_watched(*args: Any, **kwargs: Any) -> socket.socket:
        sock = create(*args, **kwargs)
        watch = getattr(_Watch.current, "watch", None)
        if watch is not None:
            watch.opened(sock)
        return sock

    connection._create_connection = create_watched


class _WatchedHTTP(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _watch_sockets(self)


class _WatchedHTTPS(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _watch_sockets(self)


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_WatchedHTTP, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_WatchedHTTPS, req, context=self._context)  # type: ignore[attr-defined]


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    """Redirects to http(s) only (urllib would follow one to ftp:), and credentials stay
    with the host they were meant for: a redirect to another host goes without them."""

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: http.client.HTTPMessage, newurl: str
    ) -> urllib.request.Request | None:
        target = urllib.parse.urlsplit(urllib.parse.urljoin(req.full_url, newurl))
        if target.scheme not in ("http", "https"):
            raise UpstreamError(f"{req.full_url}: HTTP {code} redirects to {target.scheme or 'no'} scheme; only http(s) is followed")
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(urllib.parse.urlsplit(req.full_url)) != _origin(target):
            new.remove_header("Authorization")
        return new


def _origin(url: urllib.parse.SplitResult) -> tuple[str, str | None, int | None]:
    return url.scheme, url.hostname, url.port


_OPENER = urllib.request.build_opener(_HTTPHandler, _HTTPSHandler, _RedirectHandler)


@dataclass(frozen=True)
class Digest:
    url: str
    sha256: str
    size: int
    #: the same bytes' sha512 as npm writes it (``sha512-`` and base64), for comparing with a
    #: registry's ``dist.integrity``
    integrity: str


class Http:
    def __init__(self, *, timeout: float = 60.0, github_api: str | None = None, github_token: str | None = None) -> None:
        self.timeout = timeout
        self.github_api = github_api
        self.github_token = github_token or None

    def _is_github_api(self, url: str) -> bool:
        return bool(self.github_api) and url.startswith(f"{self.github_api}/")

    def _request(self, url: str, method: str = "GET", headers: dict[str, str] | None = None) -> urllib.request.Request:
        # a base URL from the environment, or a realm a registry names, can be anything
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise UpstreamError(f"{url}: not an http(s) URL")
        all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
        if self.github_token and self._is_github_api(url):
            all_headers.setdefault("Authorization", f"Bearer {self.github_token}")
        return urllib.request.Request(url, method=method, headers=all_headers)

    def _open(self, request: urllib.request.Request, watch: _Watch) -> http.client.HTTPResponse:
        url = request.full_url
        _Watch.current.watch = watch
        try:
            # typeshed types open() as Any; our handlers are http(s) ones, which answer an HTTPResponse
            response: http.client.HTTPResponse = _OPENER.open(request, timeout=self.timeout)
            return response
        except urllib.error.HTTPError as exc:
            exc.close()
            hint = self._is_github_api(url) and not self.github_token
            raise _http_error(url, exc.code, exc.headers, token_hint=hint) from None
        except urllib.error.URLError as exc:
            raise UpstreamError(f"{url}: cannot connect ({exc.reason})") from None
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            raise self._failed(url, watch, f"{type(exc).__name__}: {exc}", exc) from None
        except ValueError as exc:  # a URL or header value http.client refuses to send
            raise UpstreamError(f"{url}: cannot be asked ({exc})") from None
        finally:
            _Watch.current.watch = None

    def _failed(self, url: str, watch: _Watch, what: str, exc: BaseException | None = None) -> UpstreamError:
        # A socket timeout is as long as the whole deadline, so one that fires is the deadline
        # reached too: on a loaded machine it can fire before the watch's timer thread runs
        if watch.expired or isinstance(exc, TimeoutError):
            return UpstreamError(f"{url}: no complete answer within {self.timeout:g} s (--timeout)")
        return UpstreamError(f"{url}: {what}")

    def get(self, url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Response:
        """The whole answer within the timeout (connecting, headers and body), at most
        MAX_ANSWER_BYTES of it."""
        request = self._request(url, method, headers)
        watch = _Watch(self.timeout)
        watch.arm()
        try:
            with self._open(request, watch) as response:
                try:
                    body = response.read(MAX_ANSWER_BYTES + 1)
                except (TimeoutError, OSError, http.client.HTTPException) as exc:
                    raise self._failed(url, watch, f"the answer broke off ({exc})", exc) from None
                if watch.expired:  # cut off: what was read is not the whole answer
                    raise self._failed(url, watch, "")
                if len(body) > MAX_ANSWER_BYTES:
                    raise UpstreamError(f"{url}: the answer is larger than {MAX_ANSWER_BYTES >> 20} MiB; no upstream answer is that large")
                return Response(response.status, response.headers, body)
        finally:
            watch.disarm()

    def get_json(self, url: str, headers: dict[str, str] | None = None) -> Any:
        return self.get(url, {"Accept": "application/json", **(headers or {})}).json(url)

    def sha256(self, url: str) -> Digest:
        """Stream ``url`` through sha256 (and sha512) without keeping it; resume with Range
        when it breaks off."""
        digest, strong, received, total = hashlib.sha256(), hashlib.sha512(), 0, None
        for attempt in range(_RESUMES + 1):
            headers = {"Range": f"bytes={received}-"} if received else {}
            # a download may take long, but each --timeout seconds must bring at least one
            # chunk: a trickle of bytes would otherwise keep it open for ever
            watch = _Watch(self.timeout)
            watch.arm()
            try:
                with self._open(self._request(url, headers=headers), watch) as response:
                    if received and response.status != 206:
                        # the server ignored Range: start over
                        digest, strong, received = hashlib.sha256(), hashlib.sha512(), 0
                    elif response.status == 206:
                        # the part must continue the bytes hashed so far, of the same file:
                        # a part from another offset, or of another length, would be
                        # hashed into a digest of no file at all
                        _check_part(url, response.headers, received, total)
                    if total is None or not received:
                        total = _total_length(response.headers, received)
                    window = received
                    while chunk := response.read(_CHUNK):
                        digest.update(chunk)
                        strong.update(chunk)
                        received += len(chunk)
                        if received > MAX_DOWNLOAD_BYTES:
                            raise UpstreamError(f"{url}: larger than {MAX_DOWNLOAD_BYTES >> 30} GiB; no download is that large")
                        if received - window >= _CHUNK:
                            watch.arm()
                            window = received
                    if watch.expired:
                        raise UpstreamError(f"{url}: less than {_CHUNK >> 10} KiB in {self.timeout:g} s (--timeout) after {received} bytes")
            except _WrongPart:
                raise
            except UpstreamError:
                if not received or attempt == _RESUMES or received > MAX_DOWNLOAD_BYTES:
                    raise
                continue
            except (TimeoutError, OSError, http.client.HTTPException) as exc:
                if watch.expired:
                    raise UpstreamError(
                        f"{url}: less than {_CHUNK >> 10} KiB in {self.timeout:g} s (--timeout) after {received} bytes"
                    ) from None
                if attempt == _RESUMES:
                    raise UpstreamError(f"{url}: the download broke off after {received} bytes ({exc})") from None
                continue
            finally:
                watch.disarm()
            if total is None or received >= total:
                return Digest(url, digest.hexdigest(), received, "sha512-" + base64.b64encode(strong.digest()).decode())
        raise UpstreamError(f"{url}: the download broke off after {received} of {total} bytes ({_RESUMES} resumes)")


class _WrongPart(UpstreamError):
    """A partial answer that does not continue the download: asking again would not help."""


def _check_part(url: str, headers: Message, offset: int, total: int | None) -> None:
    """Refuse a 206 answer unless its Content-Range starts at ``offset`` (the bytes hashed
    so far) and, when both are known, states the same full length as before."""
    content_range = headers.get("Content-Range", "")
    unit, _, rest = content_range.partition(" ")
    span, _, length = rest.partition("/")
    first = _count(span.partition("-")[0], MAX_DOWNLOAD_BYTES)
    if not offset:
        raise _WrongPart(f"{url}: HTTP 206 (a part) to a request for the whole file; not hashed")
    if unit != "bytes" or first is None:
        raise _WrongPart(f"{url}: resumed at byte {offset}, but the answer states no byte range it starts at; not hashed")
    if first != offset:
        raise _WrongPart(f"{url}: resumed at byte {offset}, but the answer starts at byte {first}; not hashed")
    stated = _count(length, MAX_DOWNLOAD_BYTES)
    if total is not None and stated is not None and stated != total:
        raise _WrongPart(f"{url}: the file was {total} bytes, but the resumed answer says {stated}: it changed; not hashed")


def _total_length(headers: Message, offset: int) -> int | None:
    """The download's full size as the headers state it; None when they state none that
    could be one (words, thousands of digits): the body is then hashed as it comes."""
    content_range = headers.get("Content-Range", "")
    if "/" in content_range and not content_range.endswith("/*"):
        return _count(content_range.rsplit("/", 1)[1], MAX_DOWNLOAD_BYTES)
    length = _count(headers.get("Content-Length"), MAX_DOWNLOAD_BYTES)
    return offset + length if length is not None else None


def _http_error(url: str, status: int, headers: Message, token_hint: bool) -> UpstreamError:
    remaining = headers.get("X-RateLimit-Remaining")
    retry_after = headers.get("Retry-After")
    if status == 429 or (status == 403 and (remaining == "0" or retry_after)):
        return RateLimitError(_rate_limit_message(url, status, headers, token_hint), status, headers)
    reason = {401: "unauthorized", 403: "forbidden", 404: "not found", 410: "gone"}.get(status, "failed")
    return UpstreamError(f"{url}: HTTP {status} ({reason})", status, headers)


def _count(header: str | None, maximum: int) -> int | None:
    """A header's whole number when it is one (ASCII digits, at most ``maximum``): what an
    upstream sends is shown or used only then, never as it came."""
    if header and header.isascii() and header.isdigit() and len(header) <= len(str(maximum)) and int(header) <= maximum:
        return int(header)
    return None


def _rate_limit_message(url: str, status: int, headers: Message, token_hint: bool) -> str:
    when = ""
    reset = headers.get("X-RateLimit-Reset")
    retry_after = headers.get("Retry-After")
    # what an upstream says is shown only when it is a plausible number: a huge or non-ASCII
    # value must not become a traceback or reach the terminal as it came
    reset_at = _count(reset, 253402300799)  # 9999-12-31T23:59:59Z, what a datetime holds
    if reset_at is not None:
        at = datetime.fromtimestamp(reset_at, tz=timezone.utc)
        minutes = max(0, round((reset_at - time.time()) / 60))
        when = f"; it resets at {at:%H:%M} UTC (in about {minutes} min)"
    elif _count(retry_after, 10**9) is not None:
        when = f"; retry after {retry_after} s"
    limit = headers.get("X-RateLimit-Limit")
    quota = f" (limit {limit} requests per hour)" if _count(limit, 10**9) is not None else ""
    hint = "; set GITHUB_TOKEN to raise the limit (60 requests per hour without a token, 5000 with one)" if token_hint else ""
    return f"rate limit reached: {url} answered HTTP {status}{quota}{when}{hint}"

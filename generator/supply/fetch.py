"""HTTP for the supply commands (standard library only): JSON APIs and hashed downloads.

Every failure becomes an ``UpstreamError`` naming the URL; "too many requests" becomes a
``RateLimitError`` saying when to retry. The GitHub token is only ever sent to the
GitHub API base, never to download hosts or other APIs.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import Message
from typing import Any

from generator.errors import RateLimitError, UpstreamError

USER_AGENT = "opencode-sandbox-supply (+https://github.com/pRizz/opencode-cloud)"
_CHUNK = 1 << 16
#: how often a download that broke off mid-body is resumed with a Range request
_RESUMES = 3


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


@dataclass(frozen=True)
class Digest:
    url: str
    sha256: str
    size: int


class Http:
    def __init__(self, *, timeout: float = 60.0, github_api: str | None = None, github_token: str | None = None) -> None:
        self.timeout = timeout
        self.github_api = github_api
        self.github_token = github_token or None

    def _is_github_api(self, url: str) -> bool:
        return bool(self.github_api) and url.startswith(f"{self.github_api}/")

    def _request(self, url: str, method: str = "GET", headers: dict[str, str] | None = None) -> urllib.request.Request:
        all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
        if self.github_token and self._is_github_api(url):
            all_headers.setdefault("Authorization", f"Bearer {self.github_token}")
        return urllib.request.Request(url, method=method, headers=all_headers)

    def _open(self, request: urllib.request.Request):
        url = request.full_url
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)  # http(s) only (UrlTemplate)
        except urllib.error.HTTPError as exc:
            exc.close()
            hint = self._is_github_api(url) and not self.github_token
            raise _http_error(url, exc.code, exc.headers, token_hint=hint) from None
        except urllib.error.URLError as exc:
            raise UpstreamError(f"{url}: cannot connect ({exc.reason})") from None
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            raise UpstreamError(f"{url}: {type(exc).__name__}: {exc}") from None

    def get(self, url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Response:
        with self._open(self._request(url, method, headers)) as response:
            try:
                body = response.read()
            except (TimeoutError, OSError, http.client.HTTPException) as exc:
                raise UpstreamError(f"{url}: the answer broke off ({exc})") from None
            return Response(response.status, response.headers, body)

    def get_json(self, url: str, headers: dict[str, str] | None = None) -> Any:
        return self.get(url, {"Accept": "application/json", **(headers or {})}).json(url)

    def sha256(self, url: str) -> Digest:
        """Stream ``url`` through sha256 without keeping it; resume with Range when it breaks off."""
        digest, received, total = hashlib.sha256(), 0, None
        for attempt in range(_RESUMES + 1):
            headers = {"Range": f"bytes={received}-"} if received else {}
            try:
                with self._open(self._request(url, headers=headers)) as response:
                    if received and response.status != 206:
                        # the server ignored Range: start over
                        digest, received = hashlib.sha256(), 0
                    if total is None or not received:
                        total = _total_length(response.headers, received)
                    while chunk := response.read(_CHUNK):
                        digest.update(chunk)
                        received += len(chunk)
            except UpstreamError:
                if not received or attempt == _RESUMES:
                    raise
                continue
            except (TimeoutError, OSError, http.client.HTTPException) as exc:
                if attempt == _RESUMES:
                    raise UpstreamError(f"{url}: the download broke off after {received} bytes ({exc})") from None
                continue
            if total is None or received >= total:
                return Digest(url, digest.hexdigest(), received)
        raise UpstreamError(f"{url}: the download broke off after {received} of {total} bytes ({_RESUMES} resumes)")


def _total_length(headers: Message, offset: int) -> int | None:
    content_range = headers.get("Content-Range", "")
    if "/" in content_range and not content_range.endswith("/*"):
        return int(content_range.rsplit("/", 1)[1])
    length = headers.get("Content-Length")
    return offset + int(length) if length and length.isdigit() else None


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

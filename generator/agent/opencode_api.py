"""The few calls of opencode's HTTP API that drive an agent session, with Basic auth.

``POST /session`` makes a session; ``POST /session/{id}/message`` gives it a prompt and blocks
until the agent's loop ends (every tool call made and answered); ``POST /session/{id}/abort``
stops a loop that outlives its deadline. ``GET /global/health`` says when the server is up: it
is polled with a short timeout, since a request that arrives while the server is still binding
can hang.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

#: one health poll: short, so that a request lost while the server binds is retried
POLL_TIMEOUT = 2.0


class OpencodeError(Exception):
    """opencode did not answer as expected; the message says which call and what came back."""


@dataclass(frozen=True)
class Opencode:
    """An opencode server at ``url`` (``http://127.0.0.1:PORT``), user ``login`` and ``password``."""

    url: str
    login: str
    password: str

    def _request(self, method: str, path: str, body: dict[str, Any] | None, timeout: float) -> Any:
        data = None if body is None else json.dumps(body).encode()
        token = base64.b64encode(f"{self.login}:{self.password}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # the container's loopback port
                text = response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            detail = error.read(2000).decode("utf-8", "replace")
            raise OpencodeError(f"{method} {path}: HTTP {error.code} {detail}".strip()) from None
        except (OSError, urllib.error.URLError) as error:
            raise OpencodeError(f"{method} {path}: {getattr(error, 'reason', error)}") from None
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            raise OpencodeError(f"{method} {path}: not JSON: {text[:200]!r}") from None

    def wait_healthy(self, timeout: float, *, alive: Any = None) -> str:
        """Poll the health route until the server says it is healthy; returns its version.
        ``alive``: a callable that is false once the server cannot come up (its container exited)."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            try:
                answer = self._request("GET", "/global/health", None, POLL_TIMEOUT)
                if isinstance(answer, dict) and answer.get("healthy") is True:
                    return str(answer.get("version", "?"))
                last = f"answered {answer!r}"[:200]
            except OpencodeError as exc:
                last = str(exc)
            if alive is not None and not alive():
                raise OpencodeError(f"the server stopped before it was healthy (last: {last})")
            if time.monotonic() >= deadline:
                raise OpencodeError(f"not healthy after {timeout:g} s (last: {last})")
            time.sleep(0.3)

    def new_session(self) -> dict[str, Any]:
        session = self._request("POST", "/session", {}, 30)
        if not isinstance(session, dict) or not isinstance(session.get("id"), str):
            raise OpencodeError(f"POST /session: no session in {session!r}"[:300])
        return session

    def prompt(self, session_id: str, text: str, *, provider: str, model: str, timeout: float) -> dict[str, Any]:
        """Send ``text`` and wait for the agent's loop to end; the last assistant message.
        A loop that outlives ``timeout`` is aborted, and this raises."""
        body = {"parts": [{"type": "text", "text": text}], "model": {"providerID": provider, "modelID": model}}
        try:
            answer = self._request("POST", f"/session/{session_id}/message", body, timeout)
        except OpencodeError:
            try:
                self._request("POST", f"/session/{session_id}/abort", {}, 10)
            except OpencodeError:
                pass  # the first error is the one worth reporting
            raise
        if not isinstance(answer, dict):
            raise OpencodeError(f"POST /session/{session_id}/message: no message in {answer!r}"[:300])
        error = (answer.get("info") or {}).get("error")
        if error:
            raise OpencodeError(f"the agent's loop ended with an error: {json.dumps(error)[:300]}")
        return answer

"""A scripted model: an OpenAI-compatible Chat Completions server that plays a script.

It stands in for the LLM, and only for it: opencode (the real one, in the image) talks to it as
to any ``@ai-sdk/openai-compatible`` provider, runs the tool calls it is told to make with its
own tools, in its own shell, and sends the results back. Each conversation opens with a user
message that names its script (``[script:ID]``); the server answers every request of that
conversation from the script, by what the request contains (how many tool-call turns it already
holds), never by counting requests: opencode's retries and its extra requests (the session
title, which offers no tools) then cannot shift the script. Every request is recorded, so a
check reads the tool results the agent really sent back.

Standard library only. It binds loopback addresses only (or, for a test whose containers reach it
across a Docker network, that network's private gateway address): it is a test double, never a
service.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: the model id opencode is configured with (any name works; this one says what it is)
MODEL_ID = "scripted"
#: what a request that offers no tools (opencode's session title) gets
TITLE = "sandbox agent check"
#: the marker in a conversation's first user message that names its script
_SCRIPT_MARKER = re.compile(r"\[script:([A-Za-z0-9_-]{1,64})\]")
#: a request body larger than this is refused (opencode's requests are tens of KiB)
MAX_BODY = 16 * 1024 * 1024


@dataclass(frozen=True)
class ToolCall:
    """One call of one of the agent's tools, e.g. ``ToolCall("bash", {"command": "go version",
    "description": "..."})``."""

    tool: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Turn:
    """What the model answers at one step: tool calls (run by the agent, which then asks again
    with their results) or, when there are none, the final text that ends the agent's loop."""

    calls: tuple[ToolCall, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class ToolResult:
    """What the agent sent back for one tool call: the call, and the output as the model got it."""

    call: ToolCall
    output: str


@dataclass
class Script:
    turns: tuple[Turn, ...]
    requests: list[dict[str, Any]] = field(default_factory=list)

    def tool_results(self) -> list[ToolResult]:
        """The results of the script's tool calls, from the last request that carries them
        (each request holds the whole conversation so far)."""
        for request in reversed(self.requests):
            results = _tool_results(request.get("messages"))
            if results:
                return results
        return []


def _text_of(content: object) -> str:
    """A message's content as text: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict) and isinstance(part.get("text"), str))
    return ""


def _tool_results(messages: object) -> list[ToolResult]:
    if not isinstance(messages, list):
        return []
    calls: dict[str, ToolCall] = {}
    results = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            try:
                arguments = json.loads(function.get("arguments") or "{}")
            except ValueError:
                arguments = {}
            calls[str(call.get("id"))] = ToolCall(str(function.get("name")), arguments if isinstance(arguments, dict) else {})
        if message.get("role") == "tool":
            call_id = str(message.get("tool_call_id"))
            results.append(ToolResult(calls.get(call_id, ToolCall("?", {})), _text_of(message.get("content"))))
    return results


def _script_id(messages: list[Any]) -> str | None:
    for message in messages:
        if isinstance(message, dict) and message.get("role") == "user":
            match = _SCRIPT_MARKER.search(_text_of(message.get("content")))
            if match:
                return match[1]
    return None


def _turns_taken(messages: list[Any]) -> int:
    """How many of the script's tool-call turns the conversation already holds."""
    return sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant" and m.get("tool_calls"))


class ScriptedModel:
    """The server, on ``host`` (a loopback address) and ``port`` (0: a free one).

    ``add(turns)`` registers a script and returns the prompt that starts it; after the agent's
    loop ends, ``script(id).tool_results()`` holds what the agent got back. Use it as a context
    manager, or call ``stop()``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, bridge: bool = False) -> None:
        address = ipaddress.ip_address(host)
        if not (address.is_loopback or (bridge and address.is_private and not address.is_unspecified)):
            allowed = "loopback or private bridge addresses" if bridge else "loopback addresses"
            raise ValueError(f"the scripted model binds {allowed} only, not {host}")
        self._host = host
        self._headers: list[dict[str, str]] = []
        self._scripts: dict[str, Script] = {}
        self._unscripted: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        # a short poll, so that stop() returns at once
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="scripted-model", daemon=True)
        self._thread.start()

    # -- the test's side ------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}/v1"

    def add(self, turns: Sequence[Turn], *, ask: str = "") -> tuple[str, str]:
        """Register a script; returns its id and the prompt that makes the agent play it
        (``ask``: what the prompt says besides the marker, for whoever reads the session)."""
        if not turns or turns[-1].calls:
            raise ValueError("a script ends with a turn of final text (no tool calls)")
        with self._lock:
            script_id = f"s{next(self._ids)}"
            self._scripts[script_id] = Script(tuple(turns))
        return script_id, f"{ask} [script:{script_id}]".strip()

    def script(self, script_id: str) -> Script:
        return self._scripts[script_id]

    @property
    def unscripted(self) -> list[dict[str, Any]]:
        """Requests that named no known script (each got a short refusal as its answer)."""
        return list(self._unscripted)

    @property
    def request_headers(self) -> list[dict[str, str]]:
        """Each request's headers (names in lower case), in the order they came: what reached
        the model besides the body (a provider key the gate added, say)."""
        with self._lock:
            return [dict(headers) for headers in self._headers]

    def record_headers(self, headers: dict[str, str]) -> None:
        with self._lock:
            self._headers.append({name.lower(): value for name, value in headers.items()})

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._unscripted) + sum(len(s.requests) for s in self._scripts.values())

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the model's side -----------------------------------------------------------------

    def answer(self, request: dict[str, Any]) -> Turn:
        """The turn that answers ``request`` (recorded under its script)."""
        messages = request.get("messages")
        messages = messages if isinstance(messages, list) else []
        script_id = _script_id(messages)
        with self._lock:
            script = self._scripts.get(script_id) if script_id else None
            if script is None:
                self._unscripted.append(request)
            else:
                script.requests.append(request)
        if not request.get("tools"):
            # opencode asks for a session title (and summaries) without offering tools
            return Turn(text=TITLE)
        if script is None:
            return Turn(text="no script is registered for this conversation")
        taken = _turns_taken(messages)
        return script.turns[min(taken, len(script.turns) - 1)]


def completion_chunks(turn: Turn, *, completion_id: str, model: str) -> Iterator[dict[str, Any]]:
    """The streamed answer (``chat.completion.chunk`` objects) for ``turn``: the role, then the
    text or one delta per tool call, then the finish reason and the usage."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    yield chunk({"role": "assistant", "content": ""})
    if turn.text:
        yield chunk({"content": turn.text})
    for index, call in enumerate(turn.calls):
        function = {"name": call.tool, "arguments": json.dumps(call.arguments)}
        yield chunk({"tool_calls": [{"index": index, "id": f"{completion_id}-call{index}", "type": "function", "function": function}]})
    final = chunk({}, "tool_calls" if turn.calls else "stop")
    final["usage"] = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    yield final


def completion(turn: Turn, *, completion_id: str, model: str) -> dict[str, Any]:
    """The same answer, not streamed (a ``chat.completion`` object)."""
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
    if turn.calls:
        message["tool_calls"] = [
            {"id": f"{completion_id}-call{i}", "type": "function", "function": {"name": c.tool, "arguments": json.dumps(c.arguments)}}
            for i, c in enumerate(turn.calls)
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if turn.calls else "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _handler_for(model: ScriptedModel) -> type[BaseHTTPRequestHandler]:
    completions = itertools.count(1)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # http.server's naming
            model.record_headers(dict(self.headers))
            if self.path.rstrip("/").endswith("/models"):
                self._json(200, {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "owned_by": "sandbox"}]})
            else:
                self._json(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            model.record_headers(dict(self.headers))
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._json(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                length = int(self.headers.get("Content-Length") or "0")
                if not 0 <= length <= MAX_BODY:
                    raise ValueError(f"a body of {length} bytes")
                request = json.loads(self.rfile.read(length))
                if not isinstance(request, dict):
                    raise ValueError("the body is not a JSON object")
            except ValueError as exc:
                self._json(400, {"error": {"message": f"bad request: {exc}"}})
                return
            turn = model.answer(request)
            completion_id = f"chatcmpl-{next(completions)}"
            name = str(request.get("model") or MODEL_ID)
            if not request.get("stream"):
                self._json(200, completion(turn, completion_id=completion_id, model=name))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for item in completion_chunks(turn, completion_id=completion_id, model=name):
                self.wfile.write(b"data: " + json.dumps(item).encode() + b"\n\n")
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's name)
            pass

    return Handler

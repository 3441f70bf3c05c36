"""The scripted model, spoken to over real HTTP as opencode speaks to it: Chat Completions,
streamed as server-sent events (the wire format @ai-sdk/openai-compatible reads), and not
streamed."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from generator.agent.model_server import TITLE, ScriptedModel, ToolCall, Turn

TOOLS = [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}]


@pytest.fixture
def model() -> Iterator[ScriptedModel]:
    with ScriptedModel() as server:
        yield server


def post(model: ScriptedModel, body: dict[str, Any], path: str = "/chat/completions") -> tuple[int, str, bytes]:
    request = urllib.request.Request(
        model.base_url + path, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # loopback
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def events(body: bytes) -> list[Any]:
    """The data of each server-sent event, JSON-decoded ('[DONE]' kept as is)."""
    out = []
    for block in body.decode().split("\n\n"):
        if block.strip():
            assert block.startswith("data: "), block
            data = block.removeprefix("data: ")
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def streamed(chunks: list[Any]) -> tuple[str, list[dict[str, Any]], str]:
    """What a streaming client assembles: the text, the tool calls (arguments joined by
    index) and the finish reason."""
    text, calls, finish = "", {}, ""
    for chunk in chunks[:-1]:
        choice = chunk["choices"][0]
        delta = choice["delta"]
        text += delta.get("content") or ""
        for call in delta.get("tool_calls") or []:
            entry = calls.setdefault(call["index"], {"id": "", "name": "", "arguments": ""})
            entry["id"] += call.get("id", "")
            entry["name"] += call["function"].get("name", "")
            entry["arguments"] += call["function"].get("arguments", "")
        finish = choice["finish_reason"] or finish
    return text, [calls[i] for i in sorted(calls)], finish


def conversation(prompt: str, *assistant_and_tool: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "you are an agent"}, {"role": "user", "content": prompt}, *assistant_and_tool]


def test_a_script_is_played_turn_by_turn_from_what_the_request_holds(model):
    call = ToolCall("bash", {"command": "go version", "description": "which go"})
    script_id, prompt = model.add([Turn(calls=(call,)), Turn(text="all done")], ask="check go")
    assert prompt == f"check go [script:{script_id}]"

    status, content_type, body = post(model, {"model": "scripted", "stream": True, "tools": TOOLS, "messages": conversation(prompt)})
    assert (status, content_type) == (200, "text/event-stream")
    chunks = events(body)
    assert chunks[-1] == "[DONE]"
    text, calls, finish = streamed(chunks)
    assert (text, finish) == ("", "tool_calls")
    assert [(c["name"], json.loads(c["arguments"])) for c in calls] == [("bash", call.arguments)]
    assert chunks[-2]["usage"]["total_tokens"] > 0

    # the agent ran it and asks again with the result: the script's next turn, the final text
    answered = conversation(
        prompt,
        {"role": "assistant", "content": "", "tool_calls": [{"id": calls[0]["id"], "type": "function",
         "function": {"name": "bash", "arguments": calls[0]["arguments"]}}]},
        {"role": "tool", "tool_call_id": calls[0]["id"], "content": "go version go1.19.8 linux/amd64"},
    )  # fmt: skip
    text, calls, finish = streamed(events(post(model, {"stream": True, "tools": TOOLS, "messages": answered})[2]))
    assert (text, calls, finish) == ("all done", [], "stop")

    results = model.script(script_id).tool_results()
    assert [(r.call, r.output) for r in results] == [(call, "go version go1.19.8 linux/amd64")]


def test_a_repeated_request_gets_the_same_turn_not_the_next(model):
    # opencode retries a request that failed; counting requests would skip a turn
    first = ToolCall("bash", {"command": "true"})
    script_id, prompt = model.add([Turn(calls=(first,)), Turn(calls=(ToolCall("bash", {"command": "false"}),)), Turn(text="end")])
    body = {"stream": True, "tools": TOOLS, "messages": conversation(prompt)}
    answers = [streamed(events(post(model, body)[2]))[1] for _ in range(3)]
    assert all(json.loads(a[0]["arguments"]) == first.arguments for a in answers)
    assert len(model.script(script_id).requests) == 3


def test_a_request_without_tools_gets_a_title_and_is_recorded(model):
    # opencode asks for the session's title with the user's words and no tools
    script_id, prompt = model.add([Turn(calls=(ToolCall("bash", {"command": "id"}),)), Turn(text="end")])
    title = {"stream": True, "messages": [{"role": "system", "content": "You are a title generator"}, {"role": "user", "content": prompt}]}
    text, calls, finish = streamed(events(post(model, title)[2]))
    assert (text, calls, finish) == (TITLE, [], "stop")
    assert model.script(script_id).requests == [title]


def test_the_answer_without_streaming_is_a_chat_completion(model):
    call = ToolCall("write", {"filePath": "/tmp/x", "content": "x"})
    _, prompt = model.add([Turn(calls=(call,)), Turn(text="end")])
    status, content_type, body = post(model, {"tools": TOOLS, "messages": conversation(prompt)})
    answer = json.loads(body)
    assert (status, content_type, answer["object"]) == (200, "application/json", "chat.completion")
    message = answer["choices"][0]["message"]
    assert answer["choices"][0]["finish_reason"] == "tool_calls"
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in message["tool_calls"]] == [("write", call.arguments)]


def test_a_conversation_without_a_known_script_is_told_so_and_recorded_apart(model):
    body = {"stream": True, "tools": TOOLS, "messages": conversation("hello [script:nope]")}
    text, calls, finish = streamed(events(post(model, body)[2]))
    assert calls == [] and finish == "stop" and "no script" in text
    assert model.unscripted == [body]


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]"])
def test_a_body_that_is_not_a_json_object_is_a_400(model, body):
    request = urllib.request.Request(model.base_url + "/chat/completions", data=body, method="POST")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)  # loopback
    assert error.value.code == 400
    assert model.request_count == 0


def test_the_model_list_names_the_scripted_model(model):
    with urllib.request.urlopen(model.base_url + "/models", timeout=10) as response:  # loopback
        assert [m["id"] for m in json.loads(response.read())["data"]] == ["scripted"]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::"])
def test_it_binds_loopback_only(host):
    with pytest.raises(ValueError, match="loopback"):
        ScriptedModel(host)


def test_a_script_must_end_with_final_text(model):
    with pytest.raises(ValueError, match="final text"):
        model.add([Turn(calls=(ToolCall("bash", {"command": "true"}),))])
    with pytest.raises(ValueError, match="final text"):
        model.add([])

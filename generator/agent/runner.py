"""Drive real opencode sessions against the scripted model and judge what the agent saw.

The container side (starting the image, reading its password) belongs to the smoke test
(:mod:`generator.docker.smoke`); this module needs only opencode's URL and password and a
running :class:`~generator.agent.model_server.ScriptedModel`. Each session is one script: the
tool checks in one, each everyday task in its own.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from generator.agent.model_server import MODEL_ID, ScriptedModel, ToolResult, Turn
from generator.agent.opencode_api import Opencode, OpencodeError
from generator.agent.suite import (
    Step,
    Task,
    Verdict,
    available_commands,
    check_batches,
    everyday_tasks,
    judge_checks,
    judge_task,
    tool_checks,
)
from generator.spec import Spec

#: the provider id opencode is given for the scripted model
PROVIDER = "sandbox-scripted"
#: one session's deadline, in seconds (its tool calls include compiles)
SESSION_TIMEOUT = 600.0

#: opencode's switches for a run that reaches nothing but the scripted model: no models.dev
#: catalogue, no self-update, no sharing, no LSP downloads, no plugins installed from npm
OFFLINE_ENVIRONMENT = {
    "OPENCODE_DISABLE_MODELS_FETCH": "1",
    "OPENCODE_DISABLE_AUTOUPDATE": "1",
    "OPENCODE_DISABLE_SHARE": "1",
    "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
    "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
}


def opencode_config(model_url: str) -> dict[str, object]:
    """opencode's configuration for the check (OPENCODE_CONFIG_CONTENT, merged over the
    image's own): the scripted model as its only model, no key, nothing that reaches out,
    no formatter or language server rewriting what the agent writes, and no permission
    prompt that would leave a session waiting for a person."""
    return {
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": False,
        "share": "disabled",
        "lsp": False,
        "formatter": False,
        "permission": {"edit": "allow", "bash": "allow", "webfetch": "deny", "external_directory": "allow"},
        "provider": {
            PROVIDER: {
                "npm": "@ai-sdk/openai-compatible",
                "name": "sandbox scripted model",
                "options": {"baseURL": model_url},
                "models": {MODEL_ID: {"name": "scripted model (sandbox test --agent)", "tool_call": True}},
            }
        },
        "model": f"{PROVIDER}/{MODEL_ID}",
        "small_model": f"{PROVIDER}/{MODEL_ID}",
    }


def container_environment(model_url: str, port: int) -> dict[str, str]:
    """The environment the image is started with: its server on 127.0.0.1:``port`` (the
    entrypoint reads OPENCODE_HOSTNAME / OPENCODE_PORT) and opencode pointed at the model."""
    return {
        "OPENCODE_HOSTNAME": "127.0.0.1",
        "OPENCODE_PORT": str(port),
        "OPENCODE_CONFIG_CONTENT": json.dumps(opencode_config(model_url), separators=(",", ":")),
        **OFFLINE_ENVIRONMENT,
    }


@dataclass
class AgentSuite:
    """The checks and tasks for one spec and profile, and how to run them."""

    spec: Spec
    profile: str
    session_timeout: float = SESSION_TIMEOUT

    def run(self, opencode: Opencode, model: ScriptedModel, on_verdict: Callable[[Verdict], None]) -> None:
        checks = tool_checks(self.spec, self.profile)
        if checks:
            results, error = self._play(opencode, model, check_batches(checks), "run the tools' checks")
            for verdict in judge_checks(checks, results):
                on_verdict(_with_error(verdict, error))
        for task in self._tasks(opencode):
            started = time.monotonic()
            results, error = self._play(opencode, model, task.steps, task.name)
            verdict = _with_error(judge_task(task, results), error)
            on_verdict(dataclasses.replace(verdict, seconds=time.monotonic() - started))

    def _tasks(self, opencode: Opencode) -> list[Task]:
        """The everyday tasks, in a fresh directory of the agent's working directory (the
        server's: the image's workspace, as a new session reports it)."""
        try:
            workspace = str(opencode.new_session().get("directory") or self.spec.user.workspace_dir)
        except OpencodeError:
            workspace = self.spec.user.workspace_dir  # each task's own session then says what is wrong
        return everyday_tasks(workspace, uuid.uuid4().hex[:8], available_commands(self.spec, self.profile))

    def _play(self, opencode: Opencode, model: ScriptedModel, steps: Sequence[Step], ask: str) -> tuple[list[ToolResult], str]:
        return play(opencode, model, steps, ask, timeout=self.session_timeout)


def play(
    opencode: Opencode, model: ScriptedModel, steps: Sequence[Step], ask: str, *, timeout: float = SESSION_TIMEOUT
) -> tuple[list[ToolResult], str]:
    """One session playing ``steps`` (one tool call per turn); the results the agent sent back,
    and the error that ended the session early ('' when none)."""
    turns = [Turn(calls=(step.call,)) for step in steps] + [Turn(text=f"done: {ask}")]
    script_id, prompt = model.add(turns, ask=ask)
    try:
        session = opencode.new_session()
        opencode.prompt(session["id"], prompt, provider=PROVIDER, model=MODEL_ID, timeout=timeout)
        error = ""
    except OpencodeError as exc:
        error = str(exc)
    script = model.script(script_id)
    if not script.requests and not error:
        error = "the scripted model received no request from opencode"
    return script.tool_results(), error


def _with_error(verdict: Verdict, error: str) -> Verdict:
    """A failed verdict also names the error that ended its session."""
    if verdict.passed or not error:
        return verdict
    return dataclasses.replace(verdict, detail=f"{verdict.detail} (the session ended: {error})")

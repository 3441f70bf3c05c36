"""Run by tests/agent/test_offline_session.py inside a network namespace of its own, where the
only network is loopback: the scripted model and the real opencode (`opencode serve`, with a
password) on 127.0.0.1, and the agent suite of a small spec driven through them. Prints the
verdicts as JSON lines.

    python offline_session.py OPENCODE SPEC HOME
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from generator import load_spec
from generator.agent.model_server import ScriptedModel
from generator.agent.opencode_api import Opencode
from generator.agent.runner import AgentSuite, container_environment
from generator.docker.smoke import free_loopback_port

PASSWORD = "offline-check-password"


def main(opencode_binary: str, spec_path: str, home: str) -> int:
    spec = load_spec(Path(spec_path))
    workspace = Path(spec.user.workspace_dir)
    workspace.mkdir(parents=True, exist_ok=True)
    with ScriptedModel() as model:
        port = free_loopback_port()
        env = {
            "PATH": os.environ["PATH"],
            "HOME": home,
            "OPENCODE_SERVER_PASSWORD": PASSWORD,
            **container_environment(model.base_url, port),
        }
        command = [opencode_binary, "serve", "--hostname", "127.0.0.1", "--port", str(port)]
        log = open(Path(home) / "opencode.log", "wb")  # noqa: SIM115 - closed after the server stops
        server = subprocess.Popen(command, cwd=workspace, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            opencode = Opencode(f"http://127.0.0.1:{port}", "opencode", PASSWORD)
            opencode.wait_healthy(60, alive=lambda: server.poll() is None)
            started = time.monotonic()
            report = lambda verdict: print(json.dumps(verdict.__dict__), flush=True)  # noqa: E731
            AgentSuite(spec, spec.default_profile).run(opencode, model, report)
            print(json.dumps({"seconds": time.monotonic() - started, "unscripted": len(model.unscripted)}), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))

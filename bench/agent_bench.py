"""The agent suite's cost, side by side with the plain smoke test (speed is never a test assertion).

    exports=$(bash .ci/provision-docker.sh) && eval "$exports"   # DOCKER_HOST, SANDBOX_DOCKER_CLI, SANDBOX_TEST_BASE_IMAGE
    .venv/bin/python bench/agent_bench.py [--rounds 3] [--trips 10] [--json PATH]

On the agent image of the tests (tests/integration/spec.py ``agent_spec_data``: the default
runtime, the real opencode, Debian's git, Python, Node, Go, Rust and shellcheck), built once:

1. one agent round trip: a session whose scripted model asks for one bash call (``true``) and
   then ends, timed from the prompt to the end of the agent's loop (``POST /session/{id}/message``),
   ``--trips`` times in one container;
2. the whole suite: `sandbox test IMAGE --agent` (A) vs `sandbox test IMAGE` (B), alternated
   round by round (A B A B ...), wall time of each command; medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from generator.agent.model_server import ScriptedModel, ToolCall, Turn  # noqa: E402
from generator.agent.opencode_api import Opencode  # noqa: E402
from generator.agent.runner import MODEL_ID, PROVIDER, container_environment  # noqa: E402
from generator.docker.smoke import PASSWORD_STORE, free_loopback_port  # noqa: E402


def docker(*args: str, timeout: float = 600) -> str:
    cli = os.environ.get("SANDBOX_DOCKER_CLI", "docker")
    done = subprocess.run([cli, *args], capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench: docker {' '.join(args[:3])} failed: {done.stderr.strip()[-1000:]}")
    return done.stdout


def sandbox(*args: str | Path, timeout: float = 1800) -> tuple[int, float]:
    started = time.monotonic()
    command = [sys.executable, "-m", "generator", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    return done.returncode, time.monotonic() - started


def build_image(work: Path) -> tuple[str, Path]:
    from tests.integration.servers import FileServer, make_opencode_release
    from tests.integration.spec import opencode_version, write_agent_spec

    base = os.environ.get("SANDBOX_TEST_BASE_IMAGE", "local/debian:bookworm")
    opencode = make_opencode_release(work / "site" / "releases", opencode_version())
    server = FileServer(work / "site")
    try:
        spec = write_agent_spec(work / "spec", f"{server.url}/releases", opencode, base)
        tag = f"local/sandbox-agent-bench:{uuid.uuid4().hex[:8]}"
        status, seconds = sandbox("--spec", spec, "build", "--regenerate", "--network", "host", "--tag", tag)
        if status != 0:
            raise SystemExit(f"bench: the agent image did not build (exit {status})")
    finally:
        server.stop()
    print(f"bench: built {tag} in {seconds:.0f} s", file=sys.stderr)
    return tag, spec


def round_trips(tag: str, home: str, trips: int) -> list[float]:
    """Seconds from prompt to the end of the agent's loop, for a one-bash-call script."""
    with ScriptedModel() as model:
        port = free_loopback_port()
        env = [f"--env={key}={value}" for key, value in container_environment(model.base_url, port).items()]
        name = f"sandbox-agent-bench-{uuid.uuid4().hex[:8]}"
        docker("run", "--detach", "--network", "host", "--name", name, *env, tag)
        try:
            read = [os.environ.get("SANDBOX_DOCKER_CLI", "docker"), "exec", name, "cat", f"{home}/{PASSWORD_STORE}"]
            deadline = time.monotonic() + 120
            while True:
                done = subprocess.run(read, capture_output=True, text=True, check=False)
                if (done.returncode == 0 and done.stdout.strip()) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            opencode = Opencode(f"http://127.0.0.1:{port}", "opencode", done.stdout.strip())
            opencode.wait_healthy(120)
            samples = []
            for _ in range(trips):
                call = ToolCall("bash", {"command": "true", "description": "a round trip"})
                _, prompt = model.add([Turn(calls=(call,)), Turn(text="done")])
                session = opencode.new_session()
                started = time.monotonic()
                opencode.prompt(session["id"], prompt, provider=PROVIDER, model=MODEL_ID, timeout=300)
                samples.append(time.monotonic() - started)
            return samples
        finally:
            docker("rm", "--force", name)


def measure(rounds: int, trips: int) -> dict:
    from generator import load_spec

    with tempfile.TemporaryDirectory(prefix="agent-bench-") as tmp:
        tag, spec = build_image(Path(tmp))
        try:
            home = load_spec(spec).user.home_dir
            trip_samples = round_trips(tag, home, trips)
            agent, plain = [], []
            for number in range(rounds):
                for label, samples, extra in (("--agent", agent, ["--agent"]), ("plain", plain, [])):
                    status, seconds = sandbox("--spec", spec, "test", tag, *extra)
                    print(f"bench: round {number + 1}, sandbox test {label}: exit {status}, {seconds:.1f} s", file=sys.stderr)
                    samples.append(seconds if status == 0 else None)
        finally:
            docker("image", "rm", "--force", tag)
    return {"round_trip_s": trip_samples, "agent_suite_s": agent, "plain_test_s": plain, "rounds": rounds}


def report(result: dict) -> str:
    def median(values: list) -> float | None:
        good = [v for v in values if v is not None]
        return statistics.median(good) if good else None

    trip, agent, plain = median(result["round_trip_s"]), median(result["agent_suite_s"]), median(result["plain_test_s"])
    lines = [
        f"| what (medians; {len(result['round_trip_s'])} round trips, {result['rounds']} rounds alternated) | seconds |",
        "|---|---:|",
        f"| one agent round trip (prompt, one bash call, final answer) | {trip:.2f} |" if trip else "| one agent round trip | failed |",
        f"| `sandbox test IMAGE --agent` (whole suite) | {agent:.1f} |" if agent else "| `sandbox test --agent` | failed |",
        f"| `sandbox test IMAGE` (plain) | {plain:.1f} |" if plain else "| `sandbox test` | failed |",
    ]
    if agent and plain:
        lines.append(f"| ratio --agent / plain | {agent / plain:.2f}× |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trips", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    result = measure(args.rounds, args.trips)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(report(result), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

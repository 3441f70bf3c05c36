"""What the gate costs a request (speed is never a test assertion).

    exports=$(bash .ci/provision-docker.sh) && eval "$exports"   # DOCKER_HOST, SANDBOX_TEST_BASE_IMAGE
    .venv/bin/python bench/gate_bench.py [--rounds 5] [--requests 50] [--json PATH]

The gate of a small spec (runtime.compose, its base the tests' local image, one allowed host)
is generated and built; a test host serves a small page on a network of its own. A client
container fetches it ``--requests`` times with curl in one process per round:

- A: through the gate, from the sandbox's internal network (HTTP proxy, as the agent's tools do);
- B: directly, from the outside network (what a sandbox without the gate would do).

Rounds alternate A B A B ...; each round's figure is curl's median ``time_total`` over its
requests; the report gives the median of the rounds and the ratio A/B.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

ALLOWED = "allowed.gate.bench"
SPEC = """\
image: {{name: local/gate-bench, tag: dev, labels: {{title: t, description: d, url: u, source: s, vendor: v, licenses: MIT}}}}
base: {{image: {image}, tag: "{tag}"}}
user: {{name: dev, uid: 1000, gid: 1000, shell: /bin/bash}}
runtime:
  command: [python3, -m, http.server]
  bind_args: [--bind, "{{host}}", "{{port}}"]
  egress: {{toolchain_registries: false, allow: [{allowed}]}}
  compose: compose.yaml
tools:
  - {{name: base, method: apt, packages: [tini, python3], provides: [tini, python3], unpinned_reason: bench packages}}
"""
#: curl in the client: one line per request, its total time in seconds
FETCH = 'for i in $(seq 1 "$1"); do curl -sS -o /dev/null -w "%{time_total}\\n" ${3:+--proxy "$3"} "$2" || exit 1; done'


def docker(*args: str, timeout: float = 900) -> str:
    cli = os.environ.get("SANDBOX_DOCKER_CLI", "docker")
    done = subprocess.run([cli, *args], capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise SystemExit(f"docker {' '.join(args[:3])} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout


def fetch_times(network: str, client_image: str, requests: int, url: str, proxy: str) -> list[float]:
    out = docker("run", "--rm", "--network", network, "--entrypoint", "sh", client_image, "-c", FETCH, "fetch", str(requests), url, proxy)
    return [float(line) for line in out.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    base = os.environ.get("SANDBOX_TEST_BASE_IMAGE", "")
    if not base or ":" not in base:
        raise SystemExit("SANDBOX_TEST_BASE_IMAGE must name a local image NAME:TAG (.ci/provision-docker.sh prints it)")
    image, tag = base.rsplit(":", 1)
    run = uuid.uuid4().hex[:8]
    inside, outside = f"gate-bench-in-{run}", f"gate-bench-out-{run}"
    gate_tag, client_tag = f"local/gate-bench:{run}", f"local/gate-bench-client:{run}"
    started: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch)
        (project / "sandbox.yaml").write_text(SPEC.format(image=image, tag=tag, allowed=ALLOWED))
        generated = subprocess.run(
            [sys.executable, "-m", "generator", "--spec", str(project / "sandbox.yaml"), "generate"],
            capture_output=True,
            text=True,
            check=False,
        )
        if generated.returncode != 0:
            raise SystemExit(generated.stdout + generated.stderr)
        docker("build", "--network", "host", "--tag", gate_tag, str(project / "gate"))
        (project / "client").mkdir()
        (project / "client" / "Dockerfile").write_text(
            f"FROM {base}\nRUN apt-get update && apt-get install -y --no-install-recommends curl python3 && rm -rf /var/lib/apt/lists/*\n"
        )
        docker("build", "--network", "host", "--tag", client_tag, str(project / "client"))
        try:
            docker("network", "create", "--internal", inside)
            docker("network", "create", outside)
            host = f"gate-bench-host-{run}"
            # also named sandbox: the name the gate's squid.conf passes the web UI to, which it
            # waits for at start
            docker("run", "-d", "--name", host, "--network", outside, "--network-alias", ALLOWED, "--network-alias", "sandbox",
                   "--entrypoint", "python3",
                   client_tag, "-m", "http.server", "80")  # fmt: skip
            started.append(host)
            gate = f"gate-bench-gate-{run}"
            # the gate as compose.yaml runs it, by hand (no compose needed for a benchmark)
            docker("create", "--name", gate, "--network", outside, "--network-alias", "gate", "--read-only",
                   "--tmpfs", "/run", "--tmpfs", "/var/spool/squid", "--cap-drop", "ALL", "--cap-add", "CHOWN",
                   "--cap-add", "DAC_OVERRIDE", "--cap-add", "SETGID", "--cap-add", "SETUID",
                   "-v", f"{project / 'gate' / 'squid.conf'}:/etc/squid/sandbox.conf:ro",
                   "-v", f"{project / 'gate' / 'providers'}:/etc/squid/sandbox-providers:ro", gate_tag)  # fmt: skip
            started.append(gate)
            docker("network", "connect", "--alias", "gate", inside, gate)
            docker("start", gate)
            fetch_times(inside, client_tag, 3, f"http://{ALLOWED}/", "http://gate:3128")  # the gate is up and warm
            through, direct = [], []
            for _ in range(options.rounds):
                through.append(
                    statistics.median(fetch_times(inside, client_tag, options.requests, f"http://{ALLOWED}/", "http://gate:3128"))
                )
                direct.append(statistics.median(fetch_times(outside, client_tag, options.requests, f"http://{ALLOWED}/", "")))
        finally:
            for container in started:
                subprocess.run([os.environ.get("SANDBOX_DOCKER_CLI", "docker"), "rm", "-f", container], capture_output=True, check=False)
            for network in (inside, outside):
                subprocess.run([os.environ.get("SANDBOX_DOCKER_CLI", "docker"), "network", "rm", network], capture_output=True, check=False)
            for built in (gate_tag, client_tag):
                subprocess.run(
                    [os.environ.get("SANDBOX_DOCKER_CLI", "docker"), "image", "rm", "-f", built], capture_output=True, check=False
                )
    report = {
        "rounds": options.rounds,
        "requests": options.requests,
        "through_gate_ms": [round(t * 1000, 2) for t in through],
        "direct_ms": [round(t * 1000, 2) for t in direct],
        "median_through_gate_ms": round(statistics.median(through) * 1000, 2),
        "median_direct_ms": round(statistics.median(direct) * 1000, 2),
        "ratio": round(statistics.median(through) / statistics.median(direct), 2),
    }
    print(f"one HTTP request, median of {options.rounds} rounds x {options.requests} requests (curl time_total):")
    print(f"  through the gate (squid, CONNECT-less HTTP proxy): {report['median_through_gate_ms']} ms")
    print(f"  direct (no gate):                                   {report['median_direct_ms']} ms")
    print(f"  ratio: {report['ratio']}x")
    if options.json:
        options.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

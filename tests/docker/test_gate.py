"""The safe box, end to end: `docker compose up` of the files `sandbox generate` writes for
runtime.compose, on the real engine, with the real opencode agent driving it.

One run, on the default engine: the agent image (tests/docker/conftest.py) behind the gate built
from the generated gate/ (squid from Debian). The outside world is a Docker network of the
test's own holding two test hosts (allowed.gate.test on the allowlist, denied.gate.test not) and,
on its gateway address, the scripted model as the one provider, whose key only the gate holds.
The agent's own bash tool then probes the box: what the allowlist lets through, what it does
not (a denied host, a direct connection, an IP address, the proxy unset), where the key is not,
while the model's side records that the key arrived.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from generator import load_spec
from generator.agent.model_server import MODEL_ID, ScriptedModel
from generator.agent.opencode_api import Opencode, OpencodeError
from generator.agent.runner import OFFLINE_ENVIRONMENT, PROVIDER, AgentSuite, opencode_config, play
from generator.agent.suite import bash
from generator.runfiles import KEY_PLACEHOLDER
from tests.docker.cli import docker_cli
from tests.docker.conftest import AgentImage, build_gate_image
from tests.docker.engines import ENGINES
from tests.docker.registry import free_port
from tests.integration.cli import sandbox

pytestmark = pytest.mark.docker

ALLOWED = "allowed.gate.test"
DENIED = "denied.gate.test"
#: the provider as the gate reaches it: HTTPS under a name, as a real provider's API
PROVIDER_HOST = "provider.gate.test"
#: the same test host under a name its certificate does not carry: a second provider the gate
#: must refuse to talk to
MISNAMED_HOST = "misnamed.gate.test"
MISNAMED = "misnamed"
#: what the test hosts serve, so a probe tells which host answered
SERVED = "served-by-{name}"
#: the test hosts: python's web server on 80 and a bare TCP listener on 443 (a CONNECT to it
#: succeeds or is refused by the gate before any TLS)
HOST_PROGRAM = """
import http.server, os, socket, threading
os.chdir('/srv')
listener = socket.create_server(('0.0.0.0', 443))
threading.Thread(target=lambda: [listener.accept() for _ in iter(int, 1)], daemon=True).start()
http.server.ThreadingHTTPServer(('0.0.0.0', 80), http.server.SimpleHTTPRequestHandler).serve_forever()
"""

#: the provider's test host: TLS (a certificate of the test's own CA for PROVIDER_HOST) in front
#: of the scripted model, which runs in the test process on the network's gateway address
TLS_FRONT = """
import socket, ssl, sys, threading
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain('/tls/server.pem', '/tls/server.key')
upstream = (sys.argv[1], int(sys.argv[2]))
def pipe(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    for end in (source, sink):
        try:
            end.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
def serve(connection):
    try:
        front = context.wrap_socket(connection, server_side=True)
    except OSError:
        connection.close()
        return
    back = socket.create_connection(upstream)
    threading.Thread(target=pipe, args=(front, back), daemon=True).start()
    pipe(back, front)
listener = socket.create_server(('0.0.0.0', 443))
while True:
    threading.Thread(target=serve, args=(listener.accept()[0],), daemon=True).start()
"""


def make_test_ca(directory: Path) -> None:
    """A CA of the test's own (ca.pem) and a certificate it signed for PROVIDER_HOST."""

    def openssl(*args: str) -> None:
        done = subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=directory, check=False)
        assert done.returncode == 0, done.stderr

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=sandbox gate test CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", f"/CN={PROVIDER_HOST}")
    (directory / "san.ext").write_text(f"subjectAltName=DNS:{PROVIDER_HOST}\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
            "-days", "2", "-extfile", "san.ext")  # fmt: skip
    for name in ("server.key", "server.pem", "ca.pem"):
        (directory / name).chmod(0o644)


@dataclass
class Box:
    project: Path
    compose: list[str]
    url: str
    password: str
    key: str
    model: ScriptedModel
    allowed_ip: str
    #: the environment the compose commands run with (the engine, the images, the port)
    env: dict[str, str]

    def opencode(self) -> Opencode:
        return Opencode(self.url, "opencode", self.password)


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    return yaml


def _run(argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}, check=False)


@pytest.fixture(scope="module")
def box(agent_image: AgentImage, compose_cli: list[str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    client = agent_image.client
    engine_env = {k: v for k, v in ENGINES["engine"].environment.items() if v}
    run_id = uuid.uuid4().hex[:10]
    outside = f"sandbox-gate-outside-{run_id}"
    docker_cli(client, ["network", "create", outside])
    started: list[str] = []
    model: ScriptedModel | None = None
    project = tmp_path_factory.mktemp("gated")
    compose: list[str] = []
    env = dict(engine_env)
    gate_tag = f"local/sandbox-gate:{run_id}"
    try:
        gateway = docker_cli(client, ["network", "inspect", "--format", "{{(index .IPAM.Config 0).Gateway}}", outside]).stdout.strip()
        model = ScriptedModel(gateway, bridge=True)

        # the test hosts, on the outside network only
        served = tmp_path_factory.mktemp("served")
        for name in (ALLOWED, DENIED):
            (served / name).mkdir()
            (served / name / "index.html").write_text(SERVED.format(name=name))
            container = f"sandbox-gate-host-{name.split('.')[0]}-{run_id}"
            docker_cli(client, [
                "run", "-d", "--name", container, "--network", outside, "--network-alias", name, "--user", "0",
                "--entrypoint", "python3", "-v", f"{served / name}:/srv:ro", agent_image.tag, "-c", HOST_PROGRAM,
            ])  # fmt: skip
            started.append(container)
        tls = tmp_path_factory.mktemp("tls")
        make_test_ca(tls)
        container = f"sandbox-gate-host-provider-{run_id}"
        docker_cli(client, [
            "run", "-d", "--name", container, "--network", outside, "--network-alias", PROVIDER_HOST,
            "--network-alias", MISNAMED_HOST, "--user", "0",
            "--entrypoint", "python3", "-v", f"{tls}:/tls:ro", agent_image.tag, "-c", TLS_FRONT, gateway, str(model.port),
        ])  # fmt: skip
        started.append(container)
        allowed_ip = docker_cli(
            client, ["inspect", "--format", f'{{{{(index .NetworkSettings.Networks "{outside}").IPAddress}}}}', started[0]]
        ).stdout.strip()

        # the agent spec, with the run files: the allowlist, the scripted model as the provider
        shutil.copytree(agent_image.spec.parent, project, dirs_exist_ok=True)
        spec_path = project / "sandbox.yaml"
        yaml = _yaml()
        data = yaml.load(spec_path.read_text())
        data["runtime"]["compose"] = "compose.yaml"
        data["runtime"]["egress"] = {"allow": [ALLOWED]}
        data["runtime"]["providers"] = [
            {"id": PROVIDER, "url": f"https://{PROVIDER_HOST}/v1", "header": "authorization", "scheme": "Bearer",
             "npm": "@ai-sdk/openai-compatible", "models": [MODEL_ID]},
            {"id": MISNAMED, "url": f"https://{MISNAMED_HOST}/v1", "header": "authorization", "scheme": "Bearer",
             "npm": "@ai-sdk/openai-compatible", "models": [MODEL_ID]},
        ]  # fmt: skip
        with spec_path.open("w") as handle:
            yaml.dump(data, handle)
        generated = sandbox("--spec", spec_path, "generate", timeout=120)
        assert generated.returncode == 0, generated.stdout + generated.stderr

        build_gate_image(client, project, gate_tag)

        password = secrets.token_urlsafe(18)
        key = f"sk-gate-test-{secrets.token_hex(16)}"
        (project / "secrets").mkdir(mode=0o700)
        (project / "secrets" / "opencode-password").write_text(password)
        (project / "secrets" / f"{PROVIDER}-api-key").write_text(key + "\n")
        (project / "secrets" / f"{MISNAMED}-api-key").write_text(key + "-misnamed\n")
        # the agent check's own opencode settings (no prompts, nothing fetched), beside the
        # provider the generated compose.yaml configures; the outside network is the test's
        check_config = {k: v for k, v in opencode_config("unused").items() if k != "provider"}
        (project / "agent-check.json").write_text(json.dumps(check_config))
        override = {
            "services": {
                "sandbox": {
                    "environment": {"OPENCODE_CONFIG": "/etc/opencode-agent-check.json", **OFFLINE_ENVIRONMENT},
                    "volumes": ["./agent-check.json:/etc/opencode-agent-check.json:ro"],
                },
                # the gate trusts the test's CA (and only it): squid checks the provider's
                # certificate against the distribution's bundle, here replaced
                "gate": {"volumes": [f"{tls / 'ca.pem'}:/etc/ssl/certs/ca-certificates.crt:ro"]},
            },
            "networks": {"outside": {"external": True, "name": outside}},
        }
        (project / "compose.test.yaml").write_text(json.dumps(override))
        port = free_port()
        compose = [*compose_cli, "--project-name", f"sandbox-gate-{run_id}", "--project-directory", str(project),
                   "-f", str(project / "compose.yaml"), "-f", str(project / "compose.test.yaml")]  # fmt: skip
        env.update({"SANDBOX_IMAGE": agent_image.tag, "SANDBOX_GATE_IMAGE": gate_tag, "SANDBOX_HOST_PORT": str(port)})
        up = _run([*compose, "up", "-d", "--no-build"], env=env)
        assert up.returncode == 0, f"compose up failed:\n{up.stdout}\n{up.stderr}"
        box = Box(project, compose, f"http://127.0.0.1:{port}", password, key, model, allowed_ip, env)
        try:
            box.opencode().wait_healthy(180)
        except OpencodeError as exc:
            logs = _run([*compose, "logs", "--no-color"], env=env).stdout[-6000:]
            pytest.fail(f"opencode did not answer through the gate: {exc}\n{logs}")
        yield box
    finally:
        if compose:
            _run([*compose, "down", "--volumes", "--timeout", "5"], env=env)
        for container in started:
            docker_cli(client, ["rm", "--force", container], check=False)
        docker_cli(client, ["network", "rm", outside], check=False)
        docker_cli(client, ["image", "rm", "--force", gate_tag], check=False)
        if model is not None:
            model.stop()


def probe(box: Box, label: str, command: str) -> str:
    """What the agent's bash tool returned for ``command`` (one session, one call)."""
    results, error = play(box.opencode(), box.model, [bash(label, command)], label, timeout=300)
    assert not error, f"{label}: the session ended: {error}"
    assert len(results) == 1, f"{label}: {len(results)} tool results"
    return results[0].output


def test_the_agent_reaches_an_allowed_host_through_the_gate(box: Box) -> None:
    output = probe(box, "an allowed host", f"curl -sS -m 20 http://{ALLOWED}/")
    assert SERVED.format(name=ALLOWED) in output, output
    # HTTPS goes as CONNECT by host name: the gate opens the tunnel
    output = probe(box, "an allowed host over CONNECT", f"curl -s -m 20 -o /dev/null -w 'connect=%{{http_connect}}' https://{ALLOWED}/")
    assert "connect=200" in output, output


@pytest.mark.parametrize(
    "label, command, refused",
    [
        ("a host not on the list", f"curl -s -m 20 -o /dev/null -w 'code=%{{http_code}}' http://{DENIED}/", "code=403"),
        (
            "a host not on the list over CONNECT",
            f"curl -s -m 20 -o /dev/null -w 'connect=%{{http_connect}}' https://{DENIED}/",
            "connect=403",
        ),
        ("an allowed host on another port", f"curl -s -m 20 -o /dev/null -w 'code=%{{http_code}}' http://{ALLOWED}:8080/", "code=403"),
    ],
)
def test_the_gate_refuses_what_is_not_on_the_allowlist(box: Box, label: str, command: str, refused: str) -> None:
    output = probe(box, label, command)
    assert refused in output, output
    assert SERVED.format(name=DENIED) not in output


def exit_code(output: str) -> int:
    """The ``rc=N`` a probe printed (curl's or getent's exit code)."""
    found = re.search(r"^rc=(\d+)$", output, re.MULTILINE)
    assert found, output
    return int(found.group(1))


def test_no_way_around_the_gate(box: Box) -> None:
    # an IP address, even the allowed host's, is not a name on the list
    output = probe(box, "an IP address", f"curl -s -m 20 -o /dev/null -w 'code=%{{http_code}}' http://{box.allowed_ip}/")
    assert "code=403" in output, output
    # without the proxy: no outside name resolves (curl 6, or 28 when the lookup times out),
    # no outside address is routed (7: refused or unreachable, or 28)
    output = probe(box, "the proxy unset", f"env -u http_proxy -u HTTP_PROXY curl -sS -m 10 http://{ALLOWED}/; echo rc=$?")
    assert SERVED.format(name=ALLOWED) not in output and exit_code(output) in (6, 28), output
    output = probe(box, "a direct connection", f"curl --noproxy '*' -sS -m 10 http://{box.allowed_ip}/; echo rc=$?")
    assert SERVED.format(name=ALLOWED) not in output and exit_code(output) in (7, 28), output
    output = probe(box, "an outside name", f"getent hosts {ALLOWED}; echo rc=$?")
    assert exit_code(output) == 2, output  # getent: not found


#: as root: the capabilities in effect, a route added through the kernel's SIOCADDRT ioctl (the
#: kernel checks CAP_NET_ADMIN before it reads the request, so an empty one is enough: EPERM
#: without it), and a direct connection
ROOT_PROBE = """
import fcntl, socket, sys, urllib.request
print('CapEff', next(l.split()[1] for l in open('/proc/self/status') if l.startswith('CapEff')))
try:
    fcntl.ioctl(socket.socket(), 0x890B, bytes(120))
    print('route: added')
except OSError as exc:
    print('route:', exc.errno)
try:
    urllib.request.build_opener(urllib.request.ProxyHandler({})).open(sys.argv[1], timeout=10)
    print('direct: reached')
except OSError as exc:
    print('direct: failed', exc)
"""
CAP_NET_ADMIN = 12


def test_root_in_the_sandbox_has_no_way_out(box: Box) -> None:
    # root as the agent's sudo would make it (the container's capabilities), proxies unset
    probe = [*box.compose, "exec", "-T", "--user", "0", "sandbox", "env", "-i", "python3", "-c", ROOT_PROBE, f"http://{box.allowed_ip}/"]
    result = _run(probe, env=box.env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert not int(lines["CapEff"], 16) & (1 << CAP_NET_ADMIN), result.stdout
    assert lines["route:"] == str(errno.EPERM), result.stdout
    assert lines["direct:"].startswith("failed"), result.stdout


#: looks for the key (given in two halves, so no command line holds it whole) in every
#: process's environment and arguments and in the files the agent can read
KEY_SEARCH = r"""
import os, sys
key = (sys.argv[1] + sys.argv[2]).encode()
found, files, processes = [], 0, 0
for pid in filter(str.isdigit, os.listdir('/proc')):
    for part in ('environ', 'cmdline'):
        try:
            if key in open(f'/proc/{pid}/{part}', 'rb').read():
                found.append(f'/proc/{pid}/{part}')
            processes += 1
        except OSError:
            pass
for top in ('/home', '/run', '/tmp', '/etc', '/opt', '/usr/local', '/var', '/root', '/srv'):
    for root, dirs, names in os.walk(top):
        for name in names:
            path = os.path.join(root, name)
            try:
                if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) < 8 << 20:
                    files += 1
                    if key in open(path, 'rb').read():
                        found.append(path)
            except OSError:
                pass
print('key found in:', found if found else 'nothing', f'({files} files, {processes} process entries read)')
"""


def test_the_key_stays_in_the_gate_and_reaches_the_provider(box: Box) -> None:
    half = len(box.key) // 2
    script = KEY_SEARCH.replace("'", "'\\''")
    output = probe(box, "look for the key", f"python3 -c '{script}' '{box.key[:half]}' '{box.key[half:]}'")
    assert "key found in: nothing" in output, output
    files = int(output.split("(", 1)[1].split(" files", 1)[0])
    assert files > 100, output  # the search did read the box
    # the model received the key from the gate, and never the placeholder opencode was given
    headers = box.model.request_headers
    assert any(h.get("authorization") == f"Bearer {box.key}" for h in headers), [h.get("authorization") for h in headers]
    assert not any(KEY_PLACEHOLDER in value for h in headers for value in h.values())
    # nor is it in the logs
    logs = _run([*box.compose, "logs", "--no-color"], env=box.env).stdout
    assert box.key not in logs and "the agent's network: the gate only" in logs


def test_the_gate_talks_to_a_provider_over_verified_tls_only(box: Box) -> None:
    # the provider's port answers through TLS to the name its certificate carries (the scripted
    # model lists its models), and not to a name the certificate does not carry
    verified = probe(box, "the provider through the gate", "curl -s -m 20 -w '\\ncode=%{http_code}' http://gate:4001/v1/models")
    assert "code=200" in verified and MODEL_ID in verified, verified
    refused = probe(box, "a provider with the wrong name", "curl -s -m 20 -o /dev/null -w 'code=%{http_code}' http://gate:4002/v1/models")
    assert re.search(r"code=5\d\d", refused), refused
    assert not any(h.get("authorization", "").endswith("-misnamed") for h in box.model.request_headers)


def test_the_agent_suite_passes_behind_the_gate(box: Box, agent_image: AgentImage) -> None:
    spec = load_spec(box.project / "sandbox.yaml")
    verdicts = []
    started = time.monotonic()
    AgentSuite(spec, spec.default_profile).run(box.opencode(), box.model, verdicts.append)
    failed = [f"{v.name}: {v.detail}" for v in verdicts if not v.passed]
    assert verdicts and not failed, f"{len(failed)} of {len(verdicts)} failed in {time.monotonic() - started:.0f} s:\n" + "\n".join(failed)

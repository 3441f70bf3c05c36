"""The run files (runtime.compose): what the spec may say about egress and providers, what the
generated Compose file and gate say, and that generate/check/lint treat them like the
Dockerfiles. The files running for real: tests/docker/test_gate.py and test_compose.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from generator import load_spec
from generator.errors import SpecError
from generator.lockfile import Lock
from generator.runfiles import KEY_PLACEHOLDER, allowed_hosts, compose_data, gated_providers, run_files
from tests.integration.cli import sandbox

ROOT = Path(__file__).resolve().parents[1]

MINIMAL = """\
image: {{name: local/box, tag: dev, labels: {{title: t, description: d, url: u, source: s, vendor: v, licenses: MIT}}}}
base: {{image: debian, tag: bookworm}}
user: {{name: dev, uid: 1000, gid: 1000, shell: /bin/bash}}
runtime:
  command: [python3, -m, http.server]
  bind_args: [--bind, "{{host}}", "{{port}}"]
{runtime}
tools:
  - {{name: base, method: apt, packages: [tini, python3, git], provides: [tini, python3, git], unpinned_reason: test packages}}
{tools}
"""


def write_spec(directory: Path, runtime: str = "  compose: compose.yaml", tools: str = "") -> Path:
    path = directory / "sandbox.yaml"
    path.write_text(MINIMAL.format(runtime=runtime, tools=tools))
    return path


def spec_of(tmp_path: Path, runtime: str = "  compose: compose.yaml", tools: str = ""):
    return load_spec(write_spec(tmp_path, runtime, tools))


def test_the_allowlist_holds_the_toolchains_registries_and_the_specs_hosts(tmp_path: Path) -> None:
    tools = "  - {name: node, method: apt, packages: [npm], provides: [npm, node], unpinned_reason: test packages}"
    spec = spec_of(tmp_path, "  compose: compose.yaml\n  egress: {allow: [.example.com, pkgs.example.org]}", tools)
    hosts = {entry.host: entry.why for entry in allowed_hosts(spec, spec.default_profile)}
    assert hosts["registry.npmjs.org"].startswith("npm's registry")
    assert hosts["github.com"].startswith("GitHub")  # git is on PATH
    assert hosts[".example.com"] == hosts["pkgs.example.org"] == "runtime.egress.allow"
    assert "pypi.org" not in hosts  # no pip or uv in this profile


def test_a_name_under_a_listed_domain_is_listed_once(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, "  compose: compose.yaml\n  egress: {allow: [.github.com, api.github.com]}")
    hosts = [entry.host for entry in allowed_hosts(spec, spec.default_profile)]
    assert ".github.com" in hosts and "github.com" not in hosts and "api.github.com" not in hosts


def test_toolchain_registries_can_be_left_out(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, "  compose: compose.yaml\n  egress: {toolchain_registries: false, allow: [pypi.org]}")
    assert [entry.host for entry in allowed_hosts(spec, spec.default_profile)] == ["pypi.org"]


@pytest.mark.parametrize("host", ["10.0.0.1", "github", "x.com:443", "-a.com", "a..com", "*.github.com", "GitHub.com"])
def test_the_allowlist_names_hosts_only(tmp_path: Path, host: str) -> None:
    with pytest.raises(SpecError) as raised:
        spec_of(tmp_path, f"  compose: compose.yaml\n  egress: {{allow: ['{host}']}}")
    assert "runtime.egress.allow" in str(raised.value) and "no IP address" in str(raised.value)


def test_a_provider_is_declared_once(tmp_path: Path) -> None:
    provider = "{id: openai, url: 'https://api.openai.com/v1', header: authorization, scheme: Bearer}"
    with pytest.raises(SpecError, match="provider 'openai' is declared twice"):
        spec_of(tmp_path, f"  compose: compose.yaml\n  providers: [{provider}, {provider}]")


@pytest.mark.parametrize("port, taken", [(3128, "the gate's proxy"), (4001, "the gate's port for provider 'openai'")])
def test_the_web_uis_port_is_not_one_the_gate_needs(tmp_path: Path, port: int, taken: str) -> None:
    provider = "{id: openai, url: 'https://api.openai.com/v1', header: authorization}"
    with pytest.raises(SpecError, match=f"port {port} is {taken}"):
        spec_of(tmp_path, f"  port: {port}\n  compose: compose.yaml\n  providers: [{provider}]")
    assert spec_of(tmp_path, f"  port: {port}\n  providers: [{provider}]").runtime.port == port  # no gate, no clash


def test_opencode_gets_the_gates_address_and_no_key(tmp_path: Path) -> None:
    spec = spec_of(
        tmp_path,
        "  compose: compose.yaml\n  providers:\n"
        "    - {id: openai, url: 'https://api.openai.com/v1', header: authorization, scheme: Bearer}\n"
        "    - {id: local-llm, url: 'http://10.1.2.3:8080/v1', header: x-api-key, npm: '@ai-sdk/openai-compatible', models: [m1]}",
    )
    data = compose_data(spec, spec.default_profile)
    environment = dict(data.environment)
    config = json.loads(environment["OPENCODE_CONFIG_CONTENT"])["provider"]
    assert config["openai"] == {"options": {"apiKey": KEY_PLACEHOLDER, "baseURL": "http://gate:4001/v1"}}
    assert config["local-llm"]["npm"] == "@ai-sdk/openai-compatible" and config["local-llm"]["models"] == {"m1": {}}
    assert config["local-llm"]["options"]["baseURL"] == "http://gate:4002/v1"
    gated = gated_providers(spec.runtime.providers)
    assert [(p.upstream_host, p.upstream_port, p.tls) for p in gated] == [("api.openai.com", 443, True), ("10.1.2.3", 8080, False)]
    assert environment["HTTPS_PROXY"] == "http://gate:3128" and "gate" in environment["NO_PROXY"].split(",")


def _files(spec) -> dict[str, str]:
    return {f.name: f.text for f in run_files(spec, Lock())}


def test_the_compose_file_reads_back_as_yaml_with_the_sandbox_inside(tmp_path: Path) -> None:
    provider = "{id: openai, url: 'https://api.openai.com/v1', header: authorization}"
    spec = spec_of(tmp_path, f"  compose: compose.yaml\n  providers: [{provider}]")
    document = YAML(typ="safe").load(_files(spec)["compose.yaml"])
    sandbox, gate = document["services"]["sandbox"], document["services"]["gate"]
    assert sandbox["networks"] == ["sandbox"] and "ports" not in sandbox
    assert document["networks"]["sandbox"] == {"internal": True}
    assert gate["ports"] == ["127.0.0.1:${SANDBOX_HOST_PORT:-3000}:3000"]
    assert gate["secrets"] == ["openai_api_key"] and [s["source"] for s in sandbox["secrets"]] == ["opencode_password"]
    assert sandbox["environment"]["SANDBOX_EGRESS"] == "gate"


def test_open_egress_joins_the_outside_network_and_says_so(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, "  compose: compose.yaml\n  egress: {open: true}")
    files = _files(spec)
    sandbox = YAML(typ="safe").load(files["compose.yaml"])["services"]["sandbox"]
    assert sandbox["networks"] == ["sandbox", "outside"]
    assert sandbox["environment"]["SANDBOX_EGRESS"] == "open" and "HTTPS_PROXY" not in sandbox["environment"]
    assert "allowed_hosts" not in files["gate/squid.conf"]


def test_the_squid_config_allows_by_name_and_adds_each_key_on_its_port_only(tmp_path: Path) -> None:
    spec = spec_of(
        tmp_path,
        "  compose: compose.yaml\n  egress: {allow: [pkgs.example.org]}\n"
        "  providers: [{id: openai, url: 'https://api.openai.com/v1', header: authorization, scheme: Bearer}]",
    )
    files = _files(spec)
    squid = files["gate/squid.conf"].splitlines()
    assert "acl allowed_hosts dstdomain -n pkgs.example.org  # runtime.egress.allow" in squid
    assert "http_access allow egress allowed_hosts" in squid and squid[-1] == "include /run/sandbox-gate/keys.conf"
    assert "request_header_access authorization deny provider_openai" in squid
    assert squid.index("http_access deny egress CONNECT !https_port") < squid.index("http_access allow egress allowed_hosts")
    assert files["gate/providers"].splitlines()[-1] == "openai authorization Bearer"
    assert files["gate/sandbox-gate"] == (ROOT / "templates" / "run" / "sandbox-gate.j2").read_text()


def test_without_compose_nothing_but_the_dockerfile(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, "")
    assert run_files(spec, Lock()) == []


def test_generate_writes_check_holds_and_lint_reads_the_gates_dockerfile(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path)
    generated = sandbox("--spec", spec_path, "generate", "--no-result-cache")
    assert generated.returncode == 0, generated.stdout + generated.stderr
    for name in ("compose.yaml", "gate/Dockerfile", "gate/squid.conf", "gate/providers", "gate/sandbox-gate"):
        assert f"wrote {tmp_path / name} (run file of profile default)" in generated.stdout
    assert sandbox("--spec", spec_path, "check", "--no-result-cache").returncode == 0
    squid = tmp_path / "gate" / "squid.conf"
    squid.write_text(squid.read_text().replace("http_access deny all", "http_access allow all"))
    stale = sandbox("--spec", spec_path, "check", "--no-result-cache")
    assert stale.returncode == 1 and "-http_access allow all" in stale.stdout and "gate/squid.conf" in stale.stderr
    linted = sandbox("--spec", spec_path, "lint")
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_a_hand_written_compose_file_is_not_overwritten(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path)
    mine = "services: {mine: {image: x}}\n"
    (tmp_path / "compose.yaml").write_text(mine)
    result = sandbox("--spec", spec_path, "generate", "--no-result-cache")
    assert result.returncode == 2 and "runtime.compose" in result.stderr
    assert (tmp_path / "compose.yaml").read_text() == mine and not (tmp_path / "gate").exists()


def test_the_committed_run_files_are_the_default_specs() -> None:
    files = run_files(load_spec(ROOT / "sandbox.yaml"), Lock.beside(ROOT / "sandbox.yaml"))
    assert [f.name for f in files] == ["compose.yaml", "gate/Dockerfile", "gate/squid.conf", "gate/providers", "gate/sandbox-gate"]
    for run_file in files:
        assert (ROOT / run_file.name).read_text() == run_file.text, run_file.name

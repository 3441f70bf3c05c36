"""compose.yaml (generated from sandbox.yaml's runtime section) as the real Docker Compose v2
reads it (`config --format json`: variables interpolated, defaults filled in, no engine needed),
checked for what users rely on. tests/docker/test_gate.py runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from generator import load_spec
from generator.spec import SUDO_CAPABILITIES

ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.docker

SERVICE = "sandbox"
GATE = "gate"
SECRET_PATH = "/run/secrets/opencode_password"
SPEC = load_spec(ROOT / "sandbox.yaml")
#: the spec's volumes: compose.yaml must give each a named volume of its own
PERSISTENT = SPEC.volume_dirs
DUMMY_PASSWORD = "dummy-password-for-the-compose-test"
DUMMY_KEY = "dummy-key-for-the-compose-test"


def compose_config(compose_cli: list[str], tmp_path: Path, **env: str) -> dict[str, Any]:
    """`config --format json` of a copy of compose.yaml beside a dummy secret, with only `env`
    from the SANDBOX_/COMPOSE_ variables (the developer's own settings and secrets/ stay out)."""
    project = tmp_path / "project"
    (project / "secrets").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "compose.yaml", project / "compose.yaml")
    shutil.copytree(ROOT / "gate", project / "gate", dirs_exist_ok=True)
    (project / "secrets" / "opencode-password").write_text(DUMMY_PASSWORD + "\n")
    for provider in SPEC.runtime.providers:
        (project / "secrets" / f"{provider.id}-api-key").write_text(DUMMY_KEY + "\n")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SANDBOX_", "COMPOSE_"))}
    result = subprocess.run(
        [*compose_cli, "-f", str(project / "compose.yaml"), "--project-directory", str(project), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**environ, **env},
    )
    assert result.returncode == 0, result.stderr
    # No warning either: an obsolete `version:` key or an unset variable would show up here.
    assert result.stderr == "", result.stderr
    assert DUMMY_PASSWORD not in result.stdout and DUMMY_KEY not in result.stdout
    return json.loads(result.stdout)


def service(config: dict[str, Any], name: str = SERVICE) -> dict[str, Any]:
    assert sorted(config["services"]) == [GATE, SERVICE]
    return config["services"][name]


def test_the_sandbox_has_no_route_out_but_the_gate(compose_cli: list[str], tmp_path: Path) -> None:
    config = compose_config(compose_cli, tmp_path)
    sandbox, gate = service(config), service(config, GATE)
    assert list(sandbox["networks"]) == ["sandbox"] and "ports" not in sandbox
    assert config["networks"]["sandbox"].get("internal") is True
    assert sorted(gate["networks"]) == ["outside", "sandbox"]
    environment = sandbox["environment"]
    assert environment["HTTPS_PROXY"] == environment["https_proxy"] == "http://gate:3128"
    assert environment["SANDBOX_EGRESS"] == "gate"


def test_provider_keys_are_the_gates_only(compose_cli: list[str], tmp_path: Path) -> None:
    config = compose_config(compose_cli, tmp_path)
    sandbox, gate = service(config), service(config, GATE)
    assert [s["source"] for s in sandbox["secrets"]] == ["opencode_password"]
    keys = sorted(f"{p.id}_api_key" for p in SPEC.runtime.providers)
    assert keys and sorted(s["source"] for s in gate["secrets"]) == keys
    providers = json.loads(sandbox["environment"]["OPENCODE_CONFIG_CONTENT"])["provider"]
    for provider in SPEC.runtime.providers:
        assert providers[provider.id]["options"]["baseURL"].startswith("http://gate:")
        assert providers[provider.id]["options"]["apiKey"] == "held-by-the-gate"


def test_the_sandbox_runs_hardened(compose_cli: list[str], tmp_path: Path) -> None:
    sandbox = service(compose_config(compose_cli, tmp_path))
    assert sandbox["read_only"] is True and sandbox["cap_drop"] == ["ALL"]
    assert sandbox["pids_limit"] == SPEC.runtime.hardening.pids_limit
    assert sorted(sandbox["cap_add"]) == sorted(SUDO_CAPABILITIES)  # the default spec's user has sudo


def test_web_ui_published_on_loopback_only(compose_cli: list[str], tmp_path: Path) -> None:
    ports = service(compose_config(compose_cli, tmp_path), GATE)["ports"]
    assert [(p["host_ip"], str(p["published"]), p["target"], p["protocol"]) for p in ports] == [("127.0.0.1", "3000", 3000, "tcp")]
    moved = service(compose_config(compose_cli, tmp_path, SANDBOX_HOST_PORT="8123"), GATE)["ports"]
    assert [(p["host_ip"], str(p["published"]), p["target"]) for p in moved] == [("127.0.0.1", "8123", 3000)]


def test_password_comes_from_a_file_secret(compose_cli: list[str], tmp_path: Path) -> None:
    config = compose_config(compose_cli, tmp_path)
    sandbox = service(config)
    environment = sandbox.get("environment") or {}
    assert environment.get("OPENCODE_SERVER_PASSWORD_FILE") == SECRET_PATH
    assert "OPENCODE_SERVER_PASSWORD" not in environment
    mounted = {}
    for secret in sandbox.get("secrets", []):
        target = PurePosixPath(secret.get("target") or secret["source"])
        mounted[str(PurePosixPath("/run/secrets") / target)] = secret["source"]  # a relative target lands there
    assert SECRET_PATH in mounted
    definition = config["secrets"][mounted[SECRET_PATH]]
    assert definition.get("file") == str(tmp_path / "project" / "secrets" / "opencode-password")


def test_state_survives_down_in_named_volumes(compose_cli: list[str], tmp_path: Path) -> None:
    config = compose_config(compose_cli, tmp_path)
    mounts = {m["target"]: m for m in service(config).get("volumes", [])}
    for path in PERSISTENT:
        assert path in mounts, f"{path} is not mounted"
        mount = mounts[path]
        # a named volume (declared at the top level), not an anonymous one or a bind mount
        assert mount["type"] == "volume" and mount.get("source") in config.get("volumes", {}), mount
    assert len({mounts[path]["source"] for path in PERSISTENT}) == len(PERSISTENT)


def test_tini_from_the_image_stays_pid_1(compose_cli: list[str], tmp_path: Path) -> None:
    sandbox = service(compose_config(compose_cli, tmp_path))
    assert not sandbox.get("init"), "init: true puts docker-init above the image's tini"
    assert not sandbox.get("entrypoint"), "the image's ENTRYPOINT (tini) must not be replaced"
    assert "healthcheck" not in sandbox, "the image's HEALTHCHECK is the one to use"
    assert sandbox["restart"] == "unless-stopped"
    assert sandbox["stop_grace_period"] == "10s"


def test_image_default_and_override(compose_cli: list[str], tmp_path: Path) -> None:
    assert service(compose_config(compose_cli, tmp_path))["image"] == "prizz/opencode-cloud-sandbox:latest"
    chosen = service(compose_config(compose_cli, tmp_path, SANDBOX_IMAGE="local/sandbox:dev"))
    assert chosen["image"] == "local/sandbox:dev"

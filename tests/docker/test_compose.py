"""compose.yaml as the real Docker Compose v2 reads it (`config --format json`: variables
interpolated, defaults filled in, no engine needed), checked for what users rely on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from generator import load_spec

ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.docker

SERVICE = "sandbox"
SECRET_PATH = "/run/secrets/opencode_password"
#: the spec's volumes: compose.yaml must give each a named volume of its own
PERSISTENT = load_spec(ROOT / "sandbox.yaml").volume_dirs
DUMMY_PASSWORD = "dummy-password-for-the-compose-test"


def compose_config(compose_cli: list[str], tmp_path: Path, **env: str) -> dict[str, Any]:
    """`config --format json` of a copy of compose.yaml beside a dummy secret, with only `env`
    from the SANDBOX_/COMPOSE_ variables (the developer's own settings and secrets/ stay out)."""
    project = tmp_path / "project"
    (project / "secrets").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "compose.yaml", project / "compose.yaml")
    (project / "secrets" / "opencode-password").write_text(DUMMY_PASSWORD + "\n")
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
    assert DUMMY_PASSWORD not in result.stdout
    return json.loads(result.stdout)


def service(config: dict[str, Any]) -> dict[str, Any]:
    assert list(config["services"]) == [SERVICE]
    return config["services"][SERVICE]


def test_web_ui_published_on_loopback_only(compose_cli: list[str], tmp_path: Path) -> None:
    ports = service(compose_config(compose_cli, tmp_path))["ports"]
    assert [(p["host_ip"], str(p["published"]), p["target"], p["protocol"]) for p in ports] == [("127.0.0.1", "3000", 3000, "tcp")]
    moved = service(compose_config(compose_cli, tmp_path, SANDBOX_HOST_PORT="8123"))["ports"]
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

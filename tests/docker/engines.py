"""The Docker engines the suite runs against, as the environment names them, and how a test
says one is missing (skip, or fail under SANDBOX_REQUIRE_DOCKER=1). A module of its own so
that tests import it by one name; the fixtures built on it are in conftest.py."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from generator.docker.client import DockerClient

REQUIRE_ENV = "SANDBOX_REQUIRE_DOCKER"
BASE_IMAGE_ENV = "SANDBOX_TEST_BASE_IMAGE"
COMPOSE_ENV = "SANDBOX_COMPOSE"


def docker_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") == "1"


def unavailable(reason: str) -> None:
    """Skip, or fail when CI said the engine must be there."""
    if docker_required():
        pytest.fail(f"{reason} (and {REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class Engine:
    """One real engine the suite runs against, as the environment names it."""

    name: str
    #: what this process's environment points at while the engine's tests run, so the
    #: `sandbox` CLI started by a test talks to the same engine: DOCKER_HOST, SANDBOX_DOCKER_CLI,
    #: DOCKER_CONFIG (where the CLI finds buildx), SANDBOX_TEST_BASE_IMAGE
    environment: dict[str, str]

    @property
    def client(self) -> DockerClient:
        return DockerClient(
            cli=self.environment.get("SANDBOX_DOCKER_CLI") or None,
            host=self.environment.get("DOCKER_HOST") or None,
            config=self.environment.get("DOCKER_CONFIG") or None,
        )


def _engines() -> dict[str, Engine]:
    """The engine the environment names (DOCKER_HOST, SANDBOX_DOCKER_CLI; Debian's 20.10 on CI,
    building with the CLI's built-in BuildKit) and, when SANDBOX_MODERN_DOCKER_* name it, a
    current engine building with buildx (Debian 13's 26.1 on CI, containerd image store)."""
    env = os.environ
    legacy = {key: env.get(key, "") for key in ("DOCKER_HOST", "SANDBOX_DOCKER_CLI", "DOCKER_CONFIG", BASE_IMAGE_ENV)}
    modern = {
        "DOCKER_HOST": env.get("SANDBOX_MODERN_DOCKER_HOST", ""),
        "SANDBOX_DOCKER_CLI": env.get("SANDBOX_MODERN_DOCKER_CLI", ""),
        "DOCKER_CONFIG": env.get("SANDBOX_MODERN_DOCKER_CONFIG", ""),
        BASE_IMAGE_ENV: env.get(BASE_IMAGE_ENV, ""),
    }
    return {"engine": Engine("engine", legacy), "modern": Engine("modern", modern)}


#: read once, before any engine fixture changes the environment
ENGINES = _engines()

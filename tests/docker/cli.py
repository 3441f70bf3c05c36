"""The docker CLI run directly, for tests only: to set up what the code under test needs and
to look at what it did, independently of generator.docker (which goes through python-on-whales)."""

from __future__ import annotations

import os
import subprocess

from generator.docker.client import DockerClient


def engine_argv(client: DockerClient) -> list[str]:
    """The CLI and the options that point it at ``client``'s engine and configuration."""
    command = [client.cli_path]
    if client.config:
        command += ["--config", client.config]
    if client.host:
        command += ["--host", client.host]
    elif client.context:
        command += ["--context", client.context]
    return command


def docker_cli(
    client: DockerClient,
    args: list[str],
    *,
    check: bool = True,
    input: bytes | None = None,  # noqa: A002 - as subprocess.run
    timeout: float = 300.0,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if k not in client.unset_environment()}, **(env or {})}
    done = subprocess.run(engine_argv(client) + args, input=input, capture_output=True, timeout=timeout, env=env, check=False)
    result = subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    )
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args[:3])} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return result


def engine_build(client: DockerClient, args: list[str], *, timeout: float = 900.0) -> subprocess.CompletedProcess[str]:
    """`docker build ARGS` the way this engine's CLI builds with BuildKit: `buildx build --load`,
    or DOCKER_BUILDKIT=1 with a CLI older than 23; the result is not checked."""
    if client.buildkit_mode() == "buildx":
        return docker_cli(client, ["buildx", "build", "--load", "--progress=plain", *args], check=False, timeout=timeout)
    return docker_cli(client, ["build", "--progress=plain", *args], check=False, timeout=timeout, env={"DOCKER_BUILDKIT": "1"})

"""`sandbox test IMAGE` on images that break the spec's promises: each broken promise must be
a FAIL row, the rest PASS, exit 1, and no container left behind."""

from __future__ import annotations

import posixpath
import uuid
from pathlib import Path

import pytest

from generator.docker.build import BuildOptions, run_build
from generator.docker.client import DockerClient
from generator.docker.smoke import SETID_ALLOWED, SmokeTest, stand_in_command, tool_checks, unexpected_setid
from generator.loader import parse
from generator.paths import SBOM_IMAGE_PATH
from tests.docker.cli import docker_cli
from tests.integration.cli import sandbox
from tests.integration.spec import dump, hang_spec_data


def smoke_spec_data(base_image: str) -> dict:
    data = hang_spec_data("http://127.0.0.1:1", base_image)
    data["tools"] = [
        {"name": "init", "method": "apt", "packages": ["tini"], "check": ["true"], "unpinned_reason": "test"},
        {"name": "present", "method": "apt", "packages": ["coreutils"], "check": ["ls", "--version"], "unpinned_reason": "test"},
        {"name": "absent", "method": "apt", "packages": ["jq"], "check": ["jq", "--version"], "unpinned_reason": "test"},
        {
            "name": "off",
            "method": "apt",
            "packages": ["jq"],
            "check": ["false"],
            "enabled": False,
            "disabled_reason": "not built",
            "unpinned_reason": "test",
        },
    ]
    data["user"] = {"name": "opencode", "uid": 1000, "gid": 1000, "shell": "/bin/bash", "sudo": True}
    data["runtime"] = {"init": "tini", "port": 8099}
    return data


def test_setid_allow_list_is_by_file_name() -> None:
    found = ["/usr/bin/sudo", "/usr/bin/passwd", "/usr/local/bin/evil", "/opt/x/mount", "/usr/bin/chsh.bak"]
    assert unexpected_setid(found) == ["/usr/bin/chsh.bak", "/usr/local/bin/evil"]
    assert {"sudo", "su", "passwd", "mount", "umount", "newgrp"} <= SETID_ALLOWED


def test_checks_come_from_enabled_tools_of_the_profile(tmp_path: Path) -> None:
    spec = parse(dump(smoke_spec_data("local/debian:bookworm")), str(tmp_path / "sandbox.yaml"))
    assert tool_checks(spec, "default") == [("init", ["true"]), ("present", ["ls", "--version"]), ("absent", ["jq", "--version"])]
    command = stand_in_command(spec)
    assert command[:2] == ["python3", "-c"] and command[-2:] == ["0.0.0.0", "8099"]
    compile(command[2], "stand-in", "exec")


@pytest.fixture(scope="module")
def broken_image(docker_client: DockerClient, base_image: str, tmp_path_factory: pytest.TempPathFactory):
    """Runs as root, has no sudo, a setuid file not on the allow-list, an SBOM anyone may
    overwrite, and no HEALTHCHECK. An image of this run alone (its own label, so its own id):
    on a shared engine, containers of it are this run's."""
    context = tmp_path_factory.mktemp("broken")
    run = uuid.uuid4().hex[:12]
    (context / "Dockerfile").write_text(
        f"FROM {base_image}\n"
        f"LABEL org.opencode-sandbox.test-run={run}\n"
        "RUN cp /bin/true /usr/local/bin/sneaky && chmod 4755 /usr/local/bin/sneaky\n"
        f"RUN mkdir -p {posixpath.dirname(SBOM_IMAGE_PATH)} && echo '{{}}' > {SBOM_IMAGE_PATH} && chmod 0666 {SBOM_IMAGE_PATH}\n"
        'CMD ["sleep", "600"]\n'
    )
    tag = f"local/sandbox-smoke-broken:{run}"
    run_build(docker_client, context, BuildOptions(tag=tag), {})
    yield tag
    docker_cli(docker_client, ["image", "rm", "--force", tag], check=False)


def leftover_containers(client: DockerClient, image: str) -> list[str]:
    """The names of the smoke-test containers of ``image`` still there (other runs' are not
    counted)."""
    filters = ["--filter", "label=org.opencode-sandbox.smoke-test=1", "--filter", f"ancestor={image}"]
    result = docker_cli(client, ["ps", "--all", "--format", "{{.Names}}", *filters])
    return result.stdout.split()


@pytest.mark.docker
def test_each_broken_promise_is_a_failed_row(docker_client: DockerClient, broken_image: str, base_image: str, tmp_path: Path) -> None:
    spec = parse(dump(smoke_spec_data(base_image)), str(tmp_path / "sandbox.yaml"))
    seen = []
    report = SmokeTest(docker_client, broken_image, spec, "default", health_timeout=5, on_result=seen.append).run()
    rows = {r.name: r for r in report.results}
    assert seen == report.results
    assert rows["container starts"].passed
    assert rows["tool init: true"].passed
    assert rows["tool present: ls --version"].passed
    assert not rows["tool absent: jq --version"].passed
    assert not any("off" in name for name in rows)
    assert not rows["runs as uid 1000 (opencode)"].passed and rows["runs as uid 1000 (opencode)"].detail == "id -u: 0"
    assert not rows["passwordless sudo"].passed
    assert not rows["setuid/setgid files"].passed and "/usr/local/bin/sneaky" in rows["setuid/setgid files"].detail
    assert not rows["HEALTHCHECK healthy"].passed and "no HEALTHCHECK" in rows["HEALTHCHECK healthy"].detail
    sbom = rows[f"SBOM at {SBOM_IMAGE_PATH}"]
    assert not sbom.passed and sbom.detail == "owner 0:0, mode 666: expected root's and read-only"
    assert report.stand_in is None
    assert report.container not in leftover_containers(docker_client, broken_image)


@pytest.mark.docker
def test_cli_exits_1_with_a_table_and_removes_the_container(
    docker_client: DockerClient, broken_image: str, base_image: str, tmp_path: Path
) -> None:
    spec = tmp_path / "sandbox.yaml"
    spec.write_text(dump(smoke_spec_data(base_image)))
    result = sandbox("--spec", spec, "test", broken_image, "--health-timeout", "3", timeout=300)
    assert result.returncode == 1, result.stderr
    assert "smoke check(s) failed" in result.stderr
    assert result.stdout.count("FAIL") == 6 and "PASS" in result.stdout
    assert leftover_containers(docker_client, broken_image) == []


@pytest.mark.docker
def test_a_container_that_exits_at_once_fails_the_first_row(
    docker_client: DockerClient, base_image: str, tmp_path: Path, unique_name: str, image_cleanup: list[str]
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f'FROM {base_image}\nCMD ["sh", "-c", "echo {unique_name}-gone >&2; exit 7"]\n')
    image_cleanup.append(unique_name)
    run_build(docker_client, context, BuildOptions(tag=unique_name), {})
    spec = parse(dump(smoke_spec_data(base_image)), str(tmp_path / "sandbox.yaml"))
    report = SmokeTest(docker_client, unique_name, spec, "default").run()
    assert [(r.name, r.passed) for r in report.results] == [("container starts", False)]
    assert report.results[0].detail == f"exited with code 7: {unique_name}-gone"
    assert report.container not in leftover_containers(docker_client, unique_name)


@pytest.mark.docker
def test_missing_image_is_a_docker_error(docker_client: DockerClient, base_image: str, tmp_path: Path) -> None:
    spec = tmp_path / "sandbox.yaml"
    spec.write_text(dump(smoke_spec_data(base_image)))
    result = sandbox("--spec", spec, "test", "local/no-such-image:never", timeout=120)
    assert result.returncode == 3, result.stderr
    assert "no-such-image" in result.stderr
    # the engine's reason (no registry here, or no such repository there) is in the error
    # itself, not printed beside an error saying there was none
    error = result.stderr[result.stderr.index("error: ") :]
    assert "Error response from daemon" in error and "failed without a message" not in error
    assert "Unable to find image" not in result.stdout


@pytest.mark.docker
def test_an_image_here_for_another_platform_is_the_engines_error_not_a_pull(base_image: str, tmp_path: Path) -> None:
    spec = tmp_path / "sandbox.yaml"
    spec.write_text(dump(smoke_spec_data(base_image)))
    result = sandbox("--spec", spec, "test", base_image, "--platform", "linux/riscv64", timeout=120)
    assert result.returncode == 3, result.stderr
    error = result.stderr[result.stderr.index("error: ") :]
    assert "Error response from daemon" in error
    assert "Unable to find image" not in result.stdout + result.stderr  # no pull was tried

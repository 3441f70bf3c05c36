"""Podman as the engine users run: `sandbox build`, `test`, `pull` and `doctor` with
``--engine podman`` against a real Podman ($SANDBOX_PODMAN; on CI Debian 12's 4.3.1, rootful,
provisioned by .ci/provision-podman.sh with its storage under the CI state dir and the test
base image loaded), and the test registry on 127.0.0.1 for the pull by digest.

One small spec (apt's tini and python3, python3's web server as the runtime the smoke test
checks) is built once for the module; the other tests use that image. Fails instead of
skipping under SANDBOX_REQUIRE_DOCKER=1 when Podman is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from generator.docker.build import BUILDAH_LOCK_FIXED, _unlock_cache_mounts
from generator.docker.client import DockerClient
from generator.docker.errors import DockerError
from tests.docker.engines import BASE_IMAGE_ENV, unavailable
from tests.docker.registry import delete_image
from tests.integration.cli import sandbox
from tests.integration.spec import dump, platform_spec_data

PODMAN_ENV = "SANDBOX_PODMAN"
REPOSITORY = "sandbox-test/podman"
BUILD_TIMEOUT = 1200


@dataclass(frozen=True)
class Podman:
    cli: str
    base_image: str
    #: DOCKER_CONFIG for `sandbox`: a Docker configuration directory without config.json (as
    #: a user's with only cli-plugins, or the modern engine's in these tests), which Podman 4.3
    #: fails on; sandbox must keep it from Podman
    docker_config: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {key: value for key, value in os.environ.items() if key != "DOCKER_CONFIG"}
        result = subprocess.run([self.cli, *args], capture_output=True, text=True, timeout=600, check=False, env=env)
        if check:
            assert result.returncode == 0, f"podman {' '.join(args)}: {result.stderr}"
        return result

    def sandbox(self, *args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """`sandbox ARGS` on this Podman (--engine podman and the binary after the command's
        own arguments)."""
        env = {"DOCKER_CONFIG": str(self.docker_config)}
        return sandbox(*args, "--engine", "podman", "--docker-cli", self.cli, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Podman:
    """$SANDBOX_PODMAN (else podman on PATH), verified to run containers' storage, with the
    test base image in it."""
    cli = shutil.which(os.environ.get(PODMAN_ENV) or "podman")
    if not cli:
        unavailable(f"no Podman: set {PODMAN_ENV} or install podman (.ci/provision-podman.sh does both on CI)")
    try:
        DockerClient(cli=cli, engine="podman").server_version()
    except DockerError as exc:
        unavailable(f"Podman at {cli} does not work: {exc}")
    base_image = os.environ.get(BASE_IMAGE_ENV, "")
    if not base_image:
        unavailable(f"{BASE_IMAGE_ENV} is not set (name a local image, e.g. local/debian:bookworm)")
    found = subprocess.run([cli, "image", "exists", base_image], capture_output=True, timeout=60, check=False)
    if found.returncode != 0:
        unavailable(f"{base_image} is not in Podman's storage (.ci/provision-podman.sh loads it)")
    docker_config = tmp_path_factory.mktemp("docker-config-without-config-json")
    (docker_config / "cli-plugins").mkdir()
    return Podman(cli, base_image, docker_config)


def _spec_data(base_image: str) -> dict:
    """The platform spec of the buildx tests for this machine's platform only, without its
    downloaded tool: apt packages alone, so the build needs only the Debian mirror."""
    data = platform_spec_data("http://127.0.0.1:1/releases", {}, base_image)
    data["image"]["name"] = "local/sandbox-podman"
    data["platforms"] = ["linux/amd64"]
    data["tools"] = [tool for tool in data["tools"] if tool["method"] == "apt"]
    return data


@dataclass(frozen=True)
class Built:
    spec: Path
    tag: str
    #: what `sandbox build` printed
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def built(podman: Podman, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    spec = tmp_path_factory.mktemp("podman-spec") / "sandbox.yaml"
    spec.write_text(dump(_spec_data(podman.base_image)))
    tag = f"local/sandbox-podman:{uuid.uuid4().hex[:12]}"
    result = podman.sandbox("--spec", spec, "build", "--regenerate", "--network", "host", "--tag", tag, timeout=BUILD_TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr
    yield Built(spec, tag, result.stdout, result.stderr)
    podman.run("image", "rm", "--force", tag, check=False)


def test_build_uses_podman_and_keeps_the_health_check(podman: Podman, built: Built) -> None:
    assert re.search(rf"^built {re.escape(built.tag)} \(sha256:[0-9a-f]{{64}}\) .* with podman$", built.stdout, re.M), built.stdout
    # Docker's image format: OCI's has no HEALTHCHECK (nor SHELL), which Buildah would drop
    healthcheck = podman.run("image", "inspect", "--format", "{{json .Config.Healthcheck}}", built.tag).stdout
    assert '"Test":["CMD","curl"' in healthcheck.replace(" ", ""), healthcheck
    labels = podman.run("image", "inspect", "--format", '{{index .Labels "org.opencontainers.image.title"}}', built.tag).stdout
    assert labels.strip() == "sandbox platforms test"
    buildah = DockerClient(cli=podman.cli, engine="podman").buildah_version()
    assert buildah is not None
    # a Buildah with the cache-lock hang got sharing=shared, and the build said so
    assert ("buildah#4342" in built.stderr) == (buildah < BUILDAH_LOCK_FIXED), built.stderr


def test_sandbox_test_passes_on_podman(podman: Podman, built: Built) -> None:
    tested = podman.sandbox("--spec", built.spec, "test", "--health-timeout", "120", built.tag)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "HEALTHCHECK healthy" in tested.stdout and "smoke checks passed" in tested.stdout
    left = podman.run("ps", "--all", "--filter", "label=org.opencode-sandbox.smoke-test=1", "--format", "{{.Names}}").stdout
    assert not left.strip(), f"containers left behind: {left}"


def test_push_then_pull_by_digest_from_the_registry(podman: Podman, built: Built, registry: str, tmp_path: Path) -> None:
    name, tag = f"{registry}/{REPOSITORY}", uuid.uuid4().hex[:8]
    # the registry speaks plain HTTP on loopback, which Podman refuses unless told (CI's
    # registries.conf says so too; this one makes the test independent of it)
    registries = tmp_path / "registries.conf"
    registries.write_text(f'[[registry]]\nlocation = "{registry}"\ninsecure = true\n')
    env = {"CONTAINERS_REGISTRIES_CONF": str(registries)}
    # `sandbox build --push` with Podman: the build from the cache, then `podman push`
    pushed = sandbox("--spec", built.spec, "build", "--network", "host", "--push", "--tag", f"{name}:{tag}",
                     "--engine", "podman", "--docker-cli", podman.cli, timeout=BUILD_TIMEOUT, env=env)  # fmt: skip
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    found = re.search(rf"^pushed {re.escape(name)}:{tag}@(sha256:[0-9a-f]{{64}}) from ", pushed.stdout, re.M)
    assert found, pushed.stdout
    digest = found[1]
    # the spec's SBOM attached to that digest, as after a push with Docker (the registry's API)
    sbom_tag = f"{name}:sha256-{digest.removeprefix('sha256:')}.sbom"
    assert re.search(rf"^attached the SBOM as {re.escape(sbom_tag)} \(sha256:", pushed.stdout, re.M), pushed.stdout
    try:
        # the registry serves that manifest under the tag (asked over HTTP, not through Podman)
        served = urllib.request.Request(
            f"http://{registry}/v2/{REPOSITORY}/manifests/{tag}",
            method="HEAD",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"},
        )
        with urllib.request.urlopen(served, timeout=30) as answer:  # loopback
            assert answer.headers["Docker-Content-Digest"] == digest
        podman.run("image", "rm", f"{name}:{tag}", check=False)
        data = YAML(typ="safe").load(built.spec.read_text())
        data["image"].update(name=name, tag=tag, digest=digest, mirrors=[])
        pinned = tmp_path / "sandbox.yaml"
        pinned.write_text(dump(data))
        pulled = sandbox(
            "--spec", pinned, "pull", "--engine", "podman", "--docker-cli", podman.cli, "--retry-delay", "0.1",
            timeout=600, env=env,
        )  # fmt: skip
        assert pulled.returncode == 0, pulled.stdout + pulled.stderr
        assert pulled.stdout == f"pulled {name}:{tag} from {registry} ({digest})\n"
        assert podman.run("image", "exists", f"{name}:{tag}", check=False).returncode == 0
        # a pin the registry does not serve under that tag is refused, and the tag removed again
        data["image"]["digest"] = "sha256:" + "0" * 64
        pinned.write_text(dump(data))
        refused = sandbox(
            "--spec", pinned, "pull", "--engine", "podman", "--docker-cli", podman.cli, "--retry-delay", "0.1",
            timeout=600, env=env,
        )  # fmt: skip
        # (Podman cannot say which of the digests it knows the image by the registry served: it
        # names them all, the pushed one among them)
        said = re.search(r"has digest (\S+(?: or \S+)*), but the spec pins", refused.stderr)
        assert refused.returncode != 0 and said and digest in said[1].split(" or "), refused.stderr
        assert podman.run("image", "exists", f"{name}:{tag}", check=False).returncode != 0
    finally:
        podman.run("image", "rm", "--force", f"{name}:{tag}", check=False)
        delete_image(registry, REPOSITORY, digest)
        delete_image(registry, REPOSITORY, f"sha256-{digest.removeprefix('sha256:')}.sbom")


def test_doctor_names_podman_and_its_version(podman: Podman) -> None:
    version = podman.run("--version").stdout.strip()  # "podman version 4.3.1"
    number = version.rsplit(" ", 1)[-1]
    # the engine chosen by the environment, as a user's shell profile would
    doctor = sandbox("doctor", "--docker-cli", podman.cli, timeout=120, env={"SANDBOX_ENGINE": "podman"})
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    engine = next(line for line in doctor.stdout.splitlines() if line.startswith("ok    engine"))
    assert f"Podman {number}," in engine, doctor.stdout
    assert doctor.stdout.rstrip().endswith("a build will use: podman build --format docker (Buildah, Podman's own builder)")


def test_buildkit_only_options_are_refused_before_any_build(podman: Podman, built: Built) -> None:
    tag = f"local/sandbox-podman:{uuid.uuid4().hex[:8]}"
    refused = podman.sandbox(
        "--spec", built.spec, "build", "--platform", "linux/amd64,linux/arm64", "--cache-from", "type=local,src=/nonexistent",
        "--push", "--tag", tag,
    )  # fmt: skip
    assert refused.returncode != 0
    # (--push is Podman's own: not among the refused)
    assert "more than one platform, --cache-from: not with Podman" in refused.stderr and "--engine docker" in refused.stderr, refused.stderr
    assert podman.run("image", "exists", tag, check=False).returncode != 0


def test_podman_asked_for_but_the_cli_is_docker(tmp_path: Path) -> None:
    docker = shutil.which(os.environ.get("SANDBOX_DOCKER_CLI") or "docker")
    if not docker:
        unavailable("no docker CLI to name with --engine podman")
    doctor = sandbox("doctor", "--engine", "podman", "--docker-cli", docker, timeout=120)
    assert doctor.returncode == 1
    assert doctor.stdout.startswith(f"fail  cli       Podman was asked for (--engine podman), but {docker} is not Podman"), doctor.stdout


# -- without an engine --------------------------------------------------------------------


LOCKED_RUN = (
    "RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\\n"
    "    --mount=type=cache,target=/var/lib/apt,sharing=locked \\\n"
    "    apt-get update\n"
)


@pytest.mark.parametrize(("buildah", "rewritten"), [((1, 28, 2), True), ((1, 29, 0), False), (None, False)])
def test_only_a_buildah_with_the_lock_hang_gets_shared_cache_mounts(
    tmp_path: Path, buildah: tuple[int, int, int] | None, rewritten: bool
) -> None:
    dockerfile = tmp_path / "Dockerfile"
    text = "FROM x AS base\n" + LOCKED_RUN + "FROM base\n" + LOCKED_RUN + "RUN echo sharing=locked\n"
    dockerfile.write_text(text)
    notes = _unlock_cache_mounts(tmp_path, buildah)
    if rewritten:
        assert dockerfile.read_text() == text.replace(",sharing=locked", ",sharing=shared")
        assert "RUN echo sharing=locked" in dockerfile.read_text()  # only cache mounts change
        assert len(notes) == 1 and "on 4 cache mount(s)" in notes[0] and "buildah#4342" in notes[0]
    else:
        assert dockerfile.read_text() == text and notes == ()

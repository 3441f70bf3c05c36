"""go builder stages cross-compile on the real engine: the stage runs on the build platform
(`FROM --platform=$BUILDPLATFORM`), GOOS/GOARCH name the target, so an arm64 build needs no
emulated step and the binary lands at the same /out/bin/ for every platform.

No registry is reachable on CI, so the builder image is made here from $SANDBOX_TEST_BASE_IMAGE
with Debian's golang-go, and the Go module comes from a file:// GOPROXY baked into that image
(GOPROXY and GONOSUMDB are the builder image's environment: the rendered Dockerfile is
exactly what users get, only `builders.go` names the test image).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from generator.docker.client import DockerClient
from tests.docker.cli import docker_cli, engine_build
from tests.integration.cli import sandbox
from tests.integration.servers import publish_go_module
from tests.integration.spec import UID, USER, _base, dump

#: a module path of this run's own: the go stage's module cache is a cache mount, which
#: --no-cache keeps and only a builder prune empties, so a path fetched by an earlier run
#: would not be downloaded again (and "go: downloading" not printed)
MODULE = f"example.test/tiny{uuid.uuid4().hex[:8]}"
VERSION = "v1.0.0"
COMMANDS = ("hello", "world")

#: ELF e_machine values (and what `file` says for them)
EM_X86_64, EM_AARCH64 = 62, 183
FILE_SAYS = {"amd64": "x86-64", "arm64": "ARM aarch64"}


def write_goproxy(root: Path) -> None:
    """The test module (one command per name in COMMANDS, each printing its GOOS and GOARCH)."""
    sources = {"go.mod": f"module {MODULE}\n\ngo 1.19\n"}
    for name in COMMANDS:
        sources[f"cmd/{name}/main.go"] = (
            f'package main\n\nimport (\n\t"fmt"\n\t"runtime"\n)\n\nfunc main() {{ fmt.Println("{name}", runtime.GOOS, runtime.GOARCH) }}\n'
        )
    publish_go_module(root, MODULE, VERSION, sources)


@pytest.fixture(scope="module")
def go_builder(base_image: str, docker_client: DockerClient, tmp_path_factory: pytest.TempPathFactory):
    """name:tag of a Go builder image (Debian bookworm's Go 1.19) serving the test module."""
    context = tmp_path_factory.mktemp("go-builder")
    write_goproxy(context / "goproxy")
    (context / "Dockerfile").write_text(
        f"FROM {base_image}\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends golang-go && rm -rf /var/lib/apt/lists/*\n"
        "COPY goproxy /srv/goproxy\n"
        f"ENV GOPROXY=file:///srv/goproxy GONOSUMDB={MODULE}\n"
    )
    tag = f"sandbox-test-golang-{uuid.uuid4().hex[:12]}:bookworm"
    # --network host, as the integration build: apt reaches the mirror without the engine's bridge
    result = engine_build(docker_client, ["--network", "host", "--tag", tag, str(context)])
    assert result.returncode == 0, f"building the Go builder image failed:\n{result.stdout}\n{result.stderr}"
    yield tag
    docker_cli(docker_client, ["image", "rm", "--force", tag], check=False)


@pytest.fixture(scope="module")
def context(go_builder: str, base_image: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated Dockerfile of a two-platform spec with one go tool, in its own directory."""
    directory = tmp_path_factory.mktemp("cross-spec")
    spec = {
        "image": {
            "name": "local/sandbox-cross",
            "tag": "test",
            "labels": {"title": "t", "description": "d", "url": "u", "source": "s", "vendor": "v", "licenses": "MIT"},
        },
        "base": _base(base_image),
        "platforms": ["linux/amd64", "linux/arm64"],
        "builders": {"go": go_builder},
        "user": {"name": USER, "uid": UID, "gid": UID, "shell": "/bin/bash", "sudo": False},
        "tools": [
            {"name": "init", "method": "apt", "packages": ["tini"], "check": ["tini", "--version"],
             "unpinned_reason": "Debian bookworm's tini, as the CI mirror serves it"},
            {"name": "tiny", "method": "go", "package": f"{MODULE}/cmd/...", "version": VERSION,
             "provides": list(COMMANDS), "check": ["hello"]},
        ],
    }  # fmt: skip
    (directory / "sandbox.yaml").write_text(dump(spec), encoding="utf-8")
    result = sandbox("--spec", directory / "sandbox.yaml", "generate")
    assert result.returncode == 0, result.stdout + result.stderr
    return directory


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
    return int.from_bytes(header[18:20], "little")


def file_says(path: Path) -> str:
    if not shutil.which("file"):
        pytest.fail("the `file` command is missing (apt-get install file)", pytrace=False)
    return subprocess.run(["file", "--brief", str(path)], capture_output=True, text=True, check=True).stdout.strip()


def copy_out(client: DockerClient, image: str, platform: str, paths: dict[str, Path]) -> None:
    """`docker cp` each path of ``image`` (a container is created, never started)."""
    container = docker_cli(client, ["create", "--pull=never", "--platform", platform, image, "true"]).stdout.strip()
    try:
        for inside, outside in paths.items():
            docker_cli(client, ["cp", f"{container}:{inside}", str(outside)])
    finally:
        docker_cli(client, ["rm", "--force", container], check=False)


# The binaries are read out of the stage with `docker cp`, not `--output type=local`: the 20.10
# engine's local exporter stalls part-way through the builder image's file system (~800 MB,
# tried twice; moby/buildkit#4453 reports the same).
@pytest.mark.docker
@pytest.mark.parametrize(("arch", "machine"), [("arm64", EM_AARCH64), ("amd64", EM_X86_64)])
def test_go_stage_cross_compiles_for_the_target(
    context: Path, docker_client: DockerClient, tmp_path: Path, unique_name: str, image_cleanup: list[str], arch: str, machine: int
) -> None:
    dockerfile = (context / "Dockerfile").read_text()
    assert "FROM --platform=$BUILDPLATFORM sandbox-test-golang-" in dockerfile
    client = docker_client
    image_cleanup.append(unique_name)
    # --network none: the module comes from the builder image's file:// GOPROXY, nothing else;
    # --no-cache: the compile runs every time (a cached step would prove nothing)
    result = engine_build(
        client,
        ["--target", "go-tiny", "--platform", f"linux/{arch}", "--network", "none", "--no-cache", "--tag", unique_name, str(context)],
        timeout=900,
    )
    assert result.returncode == 0, f"build failed:\n{result.stdout}\n{result.stderr}"
    log = result.stdout + result.stderr
    assert f"go: downloading {MODULE} {VERSION}" in log  # ran, not CACHED
    assert f'GOOS="linux" GOARCH="{arch}"' in log and f'GOCACHE="/root/.cache/go-build/{arch}"' in log

    # one output path whatever the platform: what COPY --from=go-tiny /out/bin/ takes
    copy_out(client, unique_name, f"linux/{arch}", {"/out/bin": tmp_path / "bin", "/usr/lib/go-1.19/bin/go": tmp_path / "go"})
    assert sorted(p.name for p in (tmp_path / "bin").iterdir()) == sorted(COMMANDS)
    for name in COMMANDS:
        binary = tmp_path / "bin" / name
        assert elf_machine(binary) == machine
        said = file_says(binary)
        assert said.startswith("ELF 64-bit LSB") and FILE_SAYS[arch] in said and "statically linked" in said, said

    # the stage's file system is the builder image of the build platform: the toolchain that
    # compiled is x86-64 and ran natively, for arm64 too. This host has QEMU binfmt handlers,
    # so an emulated stage would not have failed; its file system would have been arm64's.
    # (The image's config says the requested platform either way, so it proves nothing.)
    assert elf_machine(tmp_path / "go") == EM_X86_64, file_says(tmp_path / "go")
    if arch == "amd64":
        ran = subprocess.run([str(tmp_path / "bin" / "hello")], capture_output=True, text=True, check=True)
        assert ran.stdout == "hello linux amd64\n"

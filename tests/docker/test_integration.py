"""The integration spec built by `sandbox build` on the real engine, then `sandbox test` and
`docker inspect` on the result. One image is built per session and shared.

Every download comes from the local site (tests/integration/servers.py) over loopback; the
build uses --network host to reach it. The base image is $SANDBOX_TEST_BASE_IMAGE.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from generator.docker.client import DockerClient
from tests.docker.cli import docker_cli
from tests.integration.cli import sandbox
from tests.integration.servers import Site, start_site
from tests.integration.spec import HOME, LABEL_KEY, TRICKY_ENV, TRICKY_LABEL, dump, write_spec


@dataclass
class Built:
    spec: Path
    tag: str
    site: Site
    build_output: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, docker_client: DockerClient, base_image: str):
    running = start_site(tmp_path_factory.mktemp("site"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def built(site: Site, base_image: str, docker_client: DockerClient, tmp_path_factory: pytest.TempPathFactory):
    spec = write_spec(tmp_path_factory.mktemp("spec"), site, base_image)
    tag = f"local/sandbox-integration:{uuid.uuid4().hex[:12]}"
    # --regenerate: the fresh spec has no Dockerfile yet, so this also covers writing it
    result = sandbox("--spec", spec, "build", "--regenerate", "--network", "host", "--tag", tag, timeout=1200)
    assert result.returncode == 0, f"build failed:\n{result.stdout}\n{result.stderr}"
    yield Built(spec, tag, site, result.stdout + result.stderr)
    docker_cli(docker_client, ["image", "rm", "--force", tag], check=False)


def inspect(client: DockerClient, tag: str) -> dict:
    return json.loads(docker_cli(client, ["image", "inspect", tag]).stdout)[0]


def in_image(client: DockerClient, tag: str, *command: str) -> str:
    return docker_cli(client, ["run", "--rm", "--entrypoint", command[0], tag, *command[1:]]).stdout


@pytest.mark.docker
def test_build_reports_steps_and_writes_the_dockerfile(built: Built) -> None:
    assert "regenerated" in built.build_output
    assert (built.spec.parent / "Dockerfile").is_file()
    assert f"built {built.tag} (sha256:" in built.build_output
    assert "step 1/" in built.build_output and "[release-hello" in built.build_output


@pytest.mark.docker
def test_rendered_dockerfile_is_lint_clean_and_current(built: Built) -> None:
    lint = sandbox("--spec", built.spec, "lint", timeout=300)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    check = sandbox("--spec", built.spec, "check")
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.docker
def test_downloads_come_from_the_local_site(built: Built, docker_client: DockerClient) -> None:
    # release and git URLs (with this session's port) are in the Dockerfile, so those steps
    # always run and always fetch
    requests = set(built.site.server.requests)
    assert f"/releases/{built.site.hello[0]}" in requests
    assert f"/releases/{built.site.uv[0]}" in requests
    assert "/git/fixture.git/info/refs?service=git-upload-pack" in requests
    # npm and uv may answer from their BuildKit cache mounts, so what the image's package
    # managers were configured with is checked instead of the request log
    registry = in_image(docker_client, built.tag, "npm", "config", "get", "registry")
    assert registry.strip() == built.site.npm_registry
    uv_config = in_image(docker_client, built.tag, "cat", f"{HOME}/.config/uv/uv.toml")
    assert f'url = "{built.site.pypi_index}"' in uv_config


@pytest.mark.docker
def test_smoke_test_passes(built: Built) -> None:
    result = sandbox("--spec", built.spec, "test", built.tag, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout and "STAND-IN" not in result.stdout
    for row in (
        "tool hello: hello",
        "tool uv: uv --version",
        "tool semver: semver 1.2.3",
        "tool cowsay: cowsay -t moo",
        "tool fixture: grep",
        "runs as uid 1000",
        "passwordless sudo",
        "setuid/setgid files",
        "SBOM at /usr/share/sandbox/sbom.cdx.json",
        "HEALTHCHECK healthy",
    ):
        line = next((text for text in result.stdout.splitlines() if row in text), "")
        assert "PASS" in line, f"{row!r} did not pass:\n{result.stdout}"
    assert "all 14 smoke checks passed" in result.stdout


@pytest.mark.docker
def test_smoke_test_with_stand_in_says_so(built: Built) -> None:
    result = sandbox("--spec", built.spec, "test", built.tag, "--stand-in", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "STAND-IN: the container runs a tiny python3 web server on 0.0.0.0:8080" in " ".join(result.stdout.split())
    assert "HEALTHCHECK healthy" in result.stdout


@pytest.mark.docker
def test_labels_and_env_come_back_byte_identical(built: Built, docker_client: DockerClient, base_image: str) -> None:
    config = inspect(docker_client, built.tag)["Config"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["TRICKY"] == TRICKY_ENV
    assert env["PATH"].startswith(f"{HOME}/.local/bin:")
    labels = config["Labels"]
    assert labels[LABEL_KEY] == TRICKY_LABEL
    assert labels["org.opencontainers.image.description"] == 'quotes " and \\ and $HOME stay as written'
    assert labels["org.opencontainers.image.base.name"] == base_image
    # metadata build args: the package version, no git repository around the spec, a timestamp
    assert labels["org.opencontainers.image.version"] == metadata.version("opencode-sandbox")
    assert labels["org.opencontainers.image.revision"] == "unknown"
    assert re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ", labels["org.opencontainers.image.created"])
    assert config["User"] == "1000:1000"
    assert config["Entrypoint"] == ["tini", "--"]
    assert config["Cmd"] == ["python3", "-m", "http.server", "--bind", "0.0.0.0", "8080"]
    assert config["Healthcheck"]["Test"][0] == "CMD"


@pytest.mark.docker
def test_git_checkout_is_the_pinned_commit_without_git_metadata(built: Built, docker_client: DockerClient) -> None:
    assert in_image(docker_client, built.tag, "cat", f"{HOME}/fixture/README") == "pinned-commit\n"
    listing = in_image(docker_client, built.tag, "ls", "-A", f"{HOME}/fixture")
    assert listing.split() == ["README"]
    owner = in_image(docker_client, built.tag, "stat", "-c", "%u:%g", f"{HOME}/fixture/README")
    assert owner.strip() == "1000:1000"


@pytest.mark.docker
def test_a_second_name_of_a_release_binary_stays_a_hard_link_in_the_image(built: Built, docker_client: DockerClient) -> None:
    # the release stage links hi to hello (files/sandbox-install-release); the final stage's
    # COPY --from=release-hello /out/ / must keep the link, not make two files (pnpm's pnpx
    # is pnpm dlx only under a name of its own, and not a second 64 MB copy)
    found = in_image(docker_client, built.tag, "stat", "-c", "%n %i %h %F", "/usr/local/bin/hello", "/usr/local/bin/hi")
    (hello, hello_inode, hello_links, hello_kind), (hi, hi_inode, hi_links, hi_kind) = (line.split(" ", 3) for line in found.splitlines())
    assert (hello, hi) == ("/usr/local/bin/hello", "/usr/local/bin/hi")
    assert hello_kind == hi_kind == "regular file"
    assert hello_inode == hi_inode
    assert hello_links == hi_links == "2"
    assert in_image(docker_client, built.tag, "hi") == "hello 1.2.3\n"


@pytest.mark.docker
def test_tampered_digest_fails_naming_the_tool(built: Built, base_image: str, tmp_path: Path) -> None:
    # after `built`, so the shared stages come from the cache
    spec = write_spec(tmp_path, built.site, base_image, tamper="hello")
    tag = f"local/sandbox-integration-tampered:{uuid.uuid4().hex[:12]}"
    result = sandbox("--spec", spec, "build", "--regenerate", "--network", "host", "--tag", tag, timeout=900)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "failing step: [release-hello 1/1] RUN" in result.stderr
    assert "sandbox: sha256 mismatch for hello (hello-1.2.3-linux-x86_64.tar.gz)" in result.stderr


@pytest.mark.docker
def test_smoke_test_fails_an_open_server_whose_spec_promises_auth(built: Built, tmp_path: Path) -> None:
    # the integration image serves python's http.server to everyone: a spec that says
    # runtime.auth basic must fail that row (and only that row). The spec must name opencode's
    # server for auth basic to load (spec.py, server_command_problem); `sandbox test` runs the
    # image's own command whatever the spec's says, so the open server is still what answers
    data = YAML(typ="safe", pure=True).load(built.spec.read_text(encoding="utf-8"))
    data["runtime"]["auth"] = "basic"
    data["runtime"]["command"] = ["opencode", "web"]
    spec = tmp_path / "sandbox.yaml"
    spec.write_text(dump(data), encoding="utf-8")
    shutil.copytree(built.spec.parent / "files", tmp_path / "files")
    result = sandbox("--spec", spec, "test", built.tag, "--health-interval", "1s", timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if "FAIL" in line]
    assert len(failed) == 1 and "asks for credentials" in failed[0] and "200" in failed[0], result.stdout

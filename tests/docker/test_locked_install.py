"""The integration spec's npm and uv tools built from their transitive locks on the default
engine (Docker 20.10): `sandbox lock` against the loopback site's npm registry and PyPI
index, then `npm ci` and `uv pip install --require-hashes` in the build; a lock whose hash
does not match what the registry serves fails the build at that tool's step.

The changed hash is in the lock rather than in the registry's bytes: the engine's npm and uv
cache mounts (shared with the integration build) already hold the real bytes under their
real hashes, and would serve them without asking the registry again."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import pytest

from generator.lockfile import Lock
from tests.docker.cli import docker_cli
from tests.docker.engines import BASE_IMAGE_ENV, unavailable
from tests.integration.cli import sandbox
from tests.integration.servers import Site, start_site
from tests.integration.spec import dump, npmrc, spec_data, uv_toml

#: the Python of the test base (Debian 12): the uv tool's venv and its lock use it
PYTHON = "3.11"


@pytest.fixture
def site(tmp_path_factory: pytest.TempPathFactory):
    running = start_site(tmp_path_factory.mktemp("site"))
    yield running
    running.stop()


@pytest.fixture
def base_image_20(default_engine_only) -> str:
    """The test base image on the default engine (one engine is enough: the modern one
    builds the same Dockerfile steps in the integration test)."""
    name = os.environ.get(BASE_IMAGE_ENV, "")
    if not name:
        unavailable(f"{BASE_IMAGE_ENV} is not set (name a local image, e.g. local/debian:bookworm)")
    return name


def _locked_project(directory: Path, site: Site, base_image: str) -> Path:
    """The integration spec (its uv tool on the base's Python) with both tools locked."""
    data = spec_data(site, base_image, tag="locked")
    npm_name, pypi_name = site.npm[0], site.pypi[0]
    for tool in data["tools"]:
        if tool["name"] == pypi_name:
            tool["python"] = PYTHON
    files = directory / "files"
    files.mkdir(parents=True)
    (files / "npmrc").write_text(npmrc(site), encoding="utf-8")
    (files / "uv.toml").write_text(uv_toml(site), encoding="utf-8")
    spec = directory / "sandbox.yaml"
    spec.write_text(dump(data), encoding="utf-8")
    upstreams = {"SANDBOX_UPSTREAM_NPM": f"{site.url}/npm", "SANDBOX_UPSTREAM_PYPI": site.url}
    locked = sandbox("--spec", spec, "lock", npm_name, pypi_name, env=upstreams, timeout=600)
    assert locked.returncode == 0, locked.stdout + locked.stderr
    return spec


def _build(spec: Path, tag: str):
    return sandbox("--spec", spec, "build", "--regenerate", "--network", "host", "--tag", tag, timeout=1200)


@pytest.mark.docker
def test_locked_npm_and_uv_tools_install_from_their_locks_and_a_wrong_hash_fails_the_build(
    site: Site, base_image_20: str, default_engine_only, tmp_path: Path
) -> None:
    base_image, docker_client = base_image_20, default_engine_only
    npm_name, npm_version = site.npm
    pypi_name, pypi_version = site.pypi
    spec = _locked_project(tmp_path / "good", site, base_image)
    lock = Lock.read(spec.parent / "sandbox.lock")
    assert lock.packages[npm_name].resolves == f"{npm_name}@{npm_version}"
    assert lock.packages[pypi_name].resolves == f"{pypi_name}=={pypi_version} for Python {PYTHON}"
    tag = f"local/sandbox-locked:{uuid.uuid4().hex[:12]}"
    try:
        built = _build(spec, tag)
        assert built.returncode == 0, built.stdout + built.stderr
        dockerfile = (spec.parent / "Dockerfile").read_text()
        assert "npm ci --prefix=" in dockerfile and "--require-hashes" in dockerfile
        # the tools run from their own prefixes, through the links on PATH
        ran = docker_cli(docker_client, ["run", "--rm", "--entrypoint", npm_name, tag, "1.2.3"]).stdout
        assert ran == "1.2.3\n"
        said = docker_cli(docker_client, ["run", "--rm", "--entrypoint", pypi_name, tag, "-t", "moo"]).stdout
        assert "moo" in said
        target = docker_cli(docker_client, ["run", "--rm", "--entrypoint", "readlink", tag, f"/home/opencode/.local/bin/{npm_name}"]).stdout
        assert target.strip() == f"../lib/npm-locked/{npm_name}/node_modules/.bin/{npm_name}"
    finally:
        docker_cli(docker_client, ["image", "rm", "--force", tag], check=False)

    # the same project, its npm lock naming another sha512 for the package (and sandbox.lock
    # updated to match, as a tampered commit would): npm ci refuses what the registry serves
    spec = _locked_project(tmp_path / "wrong", site, base_image)
    package_lock = spec.parent / "locks" / npm_name / "package-lock.json"
    data = json.loads(package_lock.read_text())
    entry = data["packages"][f"node_modules/{npm_name}"]
    entry["integrity"] = "sha512-" + "A" * 86 + "=="
    package_lock.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    lock_text = (spec.parent / "sandbox.lock").read_text()
    files = Lock.read(spec.parent / "sandbox.lock").packages[npm_name].files
    old = files[f"locks/{npm_name}/package-lock.json"]
    new = hashlib.sha256(package_lock.read_bytes()).hexdigest()
    (spec.parent / "sandbox.lock").write_text(lock_text.replace(old, new), encoding="utf-8")
    tag = f"local/sandbox-locked-wrong:{uuid.uuid4().hex[:12]}"
    try:
        refused = _build(spec, tag)
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert f"npm ci --prefix=/home/opencode/.local/lib/npm-locked/{npm_name}" in refused.stderr
        assert "EINTEGRITY" in refused.stderr
    finally:
        docker_cli(docker_client, ["image", "rm", "--force", tag], check=False)

"""Transitive locks of npm and uv tools, end to end against real registries on 127.0.0.1
(verdaccio, and a PEP 503 index of wheels built here) with the real clients: `sandbox lock`
records every package's hash, the install the Dockerfile runs takes exactly the locked
bytes, and npm and uv refuse a package whose bytes changed on the registry."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.lockfile import Lock
from generator.package_clients import uv_binary
from generator.project import Project
from tests.integration.servers import FileServer

from .package_registries import NpmRegistry, npm_binary, npm_package, npm_registry, simple_index, wheel
from .upstream_specs import write_spec

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def _sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.lower().startswith(("npm_config_", "uv_"))}


def _npm_ci(lock_dir: Path, prefix: Path, registry_url: str) -> subprocess.CompletedProcess[str]:
    """What the Dockerfile runs, on the host: the lock's files in a fresh prefix, `npm ci`
    with a cache of its own (so every tarball comes from the registry)."""
    prefix.mkdir()
    for path in lock_dir.iterdir():
        shutil.copy(path, prefix / path.name)
    (prefix / "empty-npmrc").write_text("", encoding="utf-8")
    argv = [npm_binary(), "ci", f"--prefix={prefix}", "--no-audit", "--no-fund", f"--cache={prefix / 'cache'}"]
    argv += ["--fetch-retries=0"]  # a refused tarball is final: npm would retry it with a back-off of 10 s and more
    argv += [f"--registry={registry_url}", f"--userconfig={prefix / 'empty-npmrc'}"]
    return subprocess.run(argv, capture_output=True, text=True, env=_clean_env(), check=False)


def _pack(directory: Path, into: Path) -> Path:
    """`npm pack` of the package in ``directory``: the tarball npm would publish."""
    into.mkdir(exist_ok=True)
    done = subprocess.run([npm_binary(), "pack", f"--pack-destination={into}"], cwd=directory, capture_output=True, text=True, check=True)
    return into / done.stdout.strip().splitlines()[-1]


@contextlib.contextmanager
def top_and_leaf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[NpmRegistry, Path]]:
    """A loopback npm registry serving sbx-top 1.0.0 (command sbx-top), which depends on
    sbx-leaf ^1.0.0, and a project whose spec installs sbx-top 1.0.0 with npm."""
    with npm_registry(tmp_path / "registry") as registry:
        registry.publish(npm_package(tmp_path / "leaf", "sbx-leaf", "1.0.0"))
        registry.publish(npm_package(tmp_path / "top", "sbx-top", "1.0.0", {"sbx-leaf": "^1.0.0"}, command="sbx-top"))
        monkeypatch.setenv("SANDBOX_UPSTREAM_NPM", registry.url)
        project = tmp_path / "project"
        project.mkdir()
        yield registry, write_spec(project, {"name": "sbx-top", "method": "npm", "version": "1.0.0"})


def test_npm_lock_pins_every_package_and_npm_ci_refuses_a_changed_tarball(tmp_path, sandbox, monkeypatch):
    with top_and_leaf(tmp_path, monkeypatch) as (registry, spec):
        project = spec.parent
        before = sandbox(spec, "audit", "--format", "json")
        assert {"subject": "sbx-top", "kind": "unverified-transitive"}.items() <= _finding(before.stdout, "sbx-top").items()

        result = sandbox(spec, "lock", "sbx-top")

        assert result.returncode == 0, result.stderr
        entry = Lock.read(project / "sandbox.lock").packages["sbx-top"]
        assert entry.resolves == "sbx-top@1.0.0"
        assert entry.commands == ("sbx-top",)
        assert set(entry.files) == {"locks/sbx-top/package.json", "locks/sbx-top/package-lock.json"}
        for relative, digest in entry.files.items():
            assert hashlib.sha256((project / relative).read_bytes()).hexdigest() == digest
        packages = json.loads((project / "locks/sbx-top/package-lock.json").read_text())["packages"]
        # the transitive dependency is pinned to the bytes the registry served
        assert packages["node_modules/sbx-leaf"]["version"] == "1.0.0"
        assert packages["node_modules/sbx-leaf"]["integrity"] == _sri(registry.tarball("sbx-leaf", "1.0.0").read_bytes())
        assert packages["node_modules/sbx-top"]["integrity"] == _sri(registry.tarball("sbx-top", "1.0.0").read_bytes())
        after = sandbox(spec, "audit", "--format", "json")
        assert _finding(after.stdout, "sbx-top") == {}

        # the Dockerfile installs from the lock: COPY, npm ci into the tool's prefix, the command linked
        assert sandbox(spec, "generate").returncode == 0
        dockerfile = (project / "Dockerfile").read_text()
        home = Project.load(spec).spec.user.home_dir
        prefix = f"{home}/.local/lib/npm-locked/sbx-top"
        copy = f"COPY --chown=1000:1000 \\\n     locks/sbx-top/package-lock.json \\\n     locks/sbx-top/package.json \\\n     {prefix}/\n"
        assert copy in dockerfile
        assert f"npm ci --prefix={prefix} --no-fund --no-audit" in dockerfile
        link = f"ln -s --target-directory={home}/.local/bin \\\n      ../lib/npm-locked/sbx-top/node_modules/.bin/sbx-top\n"
        assert link in dockerfile
        assert "npm install --global" not in dockerfile

        # a newer dependency published since is not taken: the lock decides
        registry.publish(npm_package(tmp_path / "leaf-1.0.1", "sbx-leaf", "1.0.1"))
        installed = _npm_ci(project / "locks/sbx-top", tmp_path / "install", registry.url)
        assert installed.returncode == 0, installed.stderr
        leaf = json.loads((tmp_path / "install/node_modules/sbx-leaf/package.json").read_text())
        assert leaf["version"] == "1.0.0"
        ran = subprocess.run([tmp_path / "install/node_modules/.bin/sbx-top"], capture_output=True, text=True, check=True)
        assert ran.stdout == "sbx-top@1.0.0\n"

        # the registry now serves other bytes for sbx-leaf 1.0.0: npm ci refuses them
        changed = npm_package(tmp_path / "leaf-changed", "sbx-leaf", "1.0.0")
        (changed / "index.js").write_text("module.exports = 'something else';\n", encoding="utf-8")
        shutil.copy(_pack(changed, tmp_path / "packed"), registry.tarball("sbx-leaf", "1.0.0"))
        refused = _npm_ci(project / "locks/sbx-top", tmp_path / "install-again", registry.url)
        assert refused.returncode != 0
        assert "EINTEGRITY" in refused.stderr
        assert not (tmp_path / "install-again/node_modules/sbx-leaf/index.js").exists()


def test_update_relocks_an_npm_tool_and_check_sees_a_stale_or_edited_lock(tmp_path, sandbox, monkeypatch):
    with top_and_leaf(tmp_path, monkeypatch) as (registry, spec):
        project = spec.parent
        assert sandbox(spec, "lock", "sbx-top").returncode == 0, "lock"
        assert sandbox(spec, "generate").returncode == 0

        # an edited lock file: check names it, and the build context refuses it
        package_lock = project / "locks/sbx-top/package-lock.json"
        original = package_lock.read_bytes()
        package_lock.write_bytes(original.replace(b'"version": "1.0.0"', b'"version": "1.0.0" ', 1))
        edited = sandbox(spec, "check")
        assert edited.returncode == 1
        assert "sbx-top packages: locks/sbx-top/package-lock.json differs from the sha256 sandbox.lock records" in edited.stdout
        package_lock.write_bytes(original)
        assert sandbox(spec, "check").returncode == 0

        # a new release with a new dependency: update bumps the version and re-locks it
        registry.publish(npm_package(tmp_path / "extra", "sbx-extra", "2.0.0"))
        dependencies = {"sbx-leaf": "^1.0.0", "sbx-extra": "2.0.0"}
        registry.publish(npm_package(tmp_path / "top-1.1.0", "sbx-top", "1.1.0", dependencies, command="sbx-top"))
        result = sandbox(spec, "update", "sbx-top")

        assert result.returncode == 0, result.stderr
        assert 'version: "1.1.0"' in spec.read_text() or "version: 1.1.0" in spec.read_text()
        entry = Lock.read(project / "sandbox.lock").packages["sbx-top"]
        assert entry.resolves == "sbx-top@1.1.0"
        packages = json.loads(package_lock.read_text())["packages"]
        assert packages["node_modules/sbx-top"]["version"] == "1.1.0"
        assert packages["node_modules/sbx-extra"]["integrity"] == _sri(registry.tarball("sbx-extra", "2.0.0").read_bytes())
        # the Dockerfile was written for 1.0.0: stale until regenerated, and the lock is current
        stale = sandbox(spec, "check")
        assert "stale sandbox.lock entry" not in stale.stdout
        assert sandbox(spec, "generate").returncode == 0
        assert sandbox(spec, "check").returncode == 0


def test_a_release_from_the_npm_registry_is_locked_only_as_the_registry_publishes_it(tmp_path, sandbox, monkeypatch):
    """A release tool whose asset is the registry's tarball of a package at the tool's version
    (as pnpm's platform packages are): `sandbox lock` pins the tarball's sha256 only when its
    sha512 is the integrity the registry publishes for that version."""
    with npm_registry(tmp_path / "registry") as registry:
        registry.publish(npm_package(tmp_path / "exe", "@sbx/exe.linux", "1.0.0"))
        monkeypatch.setenv("SANDBOX_UPSTREAM_NPM", registry.url.rstrip("/"))
        project = tmp_path / "project"
        project.mkdir()
        tool = {
            "name": "sbx-exe",
            "method": "release",
            "version": "1.0.0",
            "url": registry.url + "@sbx/exe.linux/-/{asset}",
            "assets": {"amd64": "exe.linux-{version}.tgz", "arm64": "exe.linux-{version}.tgz"},
            "binaries": [{"path": "package/index.js", "name": "sbx-exe"}],
            "unverified": "test: the lock is what is tested",
        }
        spec = write_spec(project, tool)
        tarball = registry.storage / "@sbx" / "exe.linux" / "exe.linux-1.0.0.tgz"  # (verdaccio's layout)

        locked = sandbox(spec, "lock", "sbx-exe")

        assert locked.returncode == 0, locked.stderr
        entries = Lock.read(project / "sandbox.lock").artifacts["sbx-exe"]
        assert {e.sha256 for e in entries.values()} == {hashlib.sha256(tarball.read_bytes()).hexdigest()}

        # the registry now serves other bytes under the same name and version
        changed = npm_package(tmp_path / "exe-changed", "@sbx/exe.linux", "1.0.0")
        (changed / "index.js").write_text("module.exports = 'something else';\n", encoding="utf-8")
        shutil.copy(_pack(changed, tmp_path / "packed"), tarball)

        refused = sandbox(spec, "lock", "--refresh", "sbx-exe")

        assert refused.returncode != 0
        served = _sri(tarball.read_bytes())
        assert f"the download's integrity is {served}, but the registry lists sha512-" in refused.stderr
        assert "for @sbx/exe.linux@1.0.0; not locked" in refused.stderr


def test_uv_lock_pins_every_wheel_and_uv_refuses_a_changed_one(tmp_path, sandbox, monkeypatch):
    wheels = tmp_path / "wheels"
    leaf = wheel(wheels, "sbx-leaf", "1.0")
    top = wheel(wheels, "sbx-top", "1.0", requires=("sbx-leaf>=1.0",), command="sbx-top")
    root = tmp_path / "index"
    simple_index(root, [leaf, top])
    with FileServer(root) as index:
        monkeypatch.setenv("SANDBOX_UPSTREAM_PYPI", index.url)
        project = tmp_path / "project"
        project.mkdir()
        spec = write_spec(project, {"name": "sbx-top", "method": "uv", "version": "1.0", "python": PYTHON})

        result = sandbox(spec, "lock", "sbx-top")

        assert result.returncode == 0, result.stderr
        entry = Lock.read(project / "sandbox.lock").packages["sbx-top"]
        assert entry.resolves == f"sbx-top==1.0 for Python {PYTHON}"
        assert entry.commands == ("sbx-top",)
        requirements = (project / "locks/sbx-top/requirements.txt").read_text()
        for name, path in (("sbx-leaf", leaf), ("sbx-top", top)):
            assert f"{name}==1.0 \\\n    --hash=sha256:{hashlib.sha256(path.read_bytes()).hexdigest()}\n" in requirements

        assert sandbox(spec, "generate").returncode == 0
        dockerfile = (project / "Dockerfile").read_text()
        home = Project.load(spec).spec.user.home_dir
        prefix = f"{home}/.local/share/uv-locked/sbx-top"
        assert f"COPY --chown=1000:1000 \\\n     locks/sbx-top/requirements.txt \\\n     {prefix}/\n" in dockerfile
        assert f"uv venv --python {PYTHON} {prefix}/venv" in dockerfile
        assert "--require-hashes --no-deps --no-build" in dockerfile
        link = f"ln -s --target-directory={home}/.local/bin \\\n      ../share/uv-locked/sbx-top/venv/bin/sbx-top\n"
        assert link in dockerfile

        # the install the Dockerfile runs, on the host against the same index
        installed = _uv_install(project / "locks/sbx-top/requirements.txt", tmp_path / "venv", index.url)
        assert installed.returncode == 0, installed.stderr
        ran = subprocess.run([tmp_path / "venv/bin/sbx-top"], capture_output=True, text=True, check=True)
        assert ran.stdout == "sbx-top 1.0\n"

        # the index now serves other bytes for sbx-leaf 1.0: uv refuses them
        changed = wheel(tmp_path / "changed", "sbx-leaf", "1.0", marker="changed")
        shutil.copy(changed, root / "simple/sbx-leaf" / changed.name)
        refused = _uv_install(project / "locks/sbx-top/requirements.txt", tmp_path / "venv-again", index.url)
        assert refused.returncode != 0
        assert "hash" in refused.stderr.lower()
        assert not list((tmp_path / "venv-again").glob("lib/python*/site-packages/sbx_leaf"))


def test_uv_lock_for_a_python_missing_here_asks_nothing_but_the_index(tmp_path, sandbox, monkeypatch):
    """The lock is for the spec's Python whether or not one is installed here: uv must not go
    and fetch that interpreter. Every proxy variable points at a recording server on loopback
    (the index itself is reached directly), so any other request shows there."""
    wheels = tmp_path / "wheels"
    root = tmp_path / "index"
    simple_index(root, [wheel(wheels, "sbx-top", "1.0", command="sbx-top")])
    (tmp_path / "nothing").mkdir()
    proxy = FileServer(tmp_path / "nothing")
    try:
        for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy.url)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.setenv(name, "127.0.0.1")
        with FileServer(root) as index:
            monkeypatch.setenv("SANDBOX_UPSTREAM_PYPI", index.url)
            project = tmp_path / "project"
            project.mkdir()
            # one uv knows how to download (and, on these machines, not installed)
            spec = write_spec(project, {"name": "sbx-top", "method": "uv", "version": "1.0", "python": "3.14"})

            result = sandbox(spec, "lock", "sbx-top")

        assert result.returncode == 0, result.stderr
        assert Lock.read(project / "sandbox.lock").packages["sbx-top"].resolves == "sbx-top==1.0 for Python 3.14"
        assert proxy.requests == []  # (a CONNECT shows here as its host:port)
    finally:
        proxy.stop()


def _uv_install(requirements: Path, venv: Path, index: str) -> subprocess.CompletedProcess[str]:
    uv = uv_binary()
    env = _clean_env()
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, env=env, capture_output=True)
    argv = [uv, "pip", "install", f"--python={venv / 'bin/python'}", "--require-hashes", "--no-deps", "--no-build"]
    argv += ["--no-cache", "--index-url", f"{index}/simple", f"--requirement={requirements}"]
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False)


def _finding(audit_json: str, subject: str) -> dict:
    found = [f for f in json.loads(audit_json) if f["subject"] == subject]
    return found[0] if found else {}


@pytest.fixture(autouse=True)
def _no_github_token(monkeypatch):
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        monkeypatch.delenv(name, raising=False)

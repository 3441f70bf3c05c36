"""Real package registries on 127.0.0.1 for the transitive-lock tests, with packages of our own.

- npm: verdaccio (a real npm registry server, installed from the npm registry by
  scripts/test), to which the tests publish packages with the real `npm publish`;
- PyPI: a PEP 503 simple index (a directory of wheels the tests build themselves, served
  over HTTP), which is all uv asks of an index.

The clients (npm, uv) are never replaced: `sandbox lock` and the installs run them for real.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: where scripts/test installs verdaccio (SANDBOX_VERDACCIO names another)
VERDACCIO = REPO / ".venv" / "verdaccio" / "node_modules" / ".bin" / "verdaccio"


def unavailable(message: str) -> None:
    """Skip, or fail where the suite must run whole (CI, SANDBOX_REQUIRE_DOCKER=1)."""
    if os.environ.get("SANDBOX_REQUIRE_DOCKER") == "1" or os.environ.get("CI"):
        pytest.fail(f"{message} (required here: scripts/test installs it)")
    pytest.skip(message)


def npm_binary() -> str:
    found = shutil.which("npm")
    if not found:
        unavailable("npm is not installed")
    assert found
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, log: Path) -> None:
    """Until ``url`` answers (the server started), or the process ended (its log says why)."""
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the registry server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)


@dataclass
class NpmRegistry:
    url: str
    storage: Path
    npmrc: Path

    def publish(self, package_dir: Path) -> None:
        """`npm publish` the package in ``package_dir``, as the test user."""
        subprocess.run(
            [npm_binary(), "publish", f"--registry={self.url}", f"--userconfig={self.npmrc}", "--no-git-checks"],
            cwd=package_dir,
            check=True,
            capture_output=True,
            env={k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")},
        )

    def tarball(self, name: str, version: str) -> Path:
        """The tarball the registry serves for name@version, as it keeps it on disk."""
        return self.storage / name / f"{name}-{version}.tgz"


@contextmanager
def npm_registry(directory: Path) -> Iterator[NpmRegistry]:
    """verdaccio on a free loopback port, no uplink (it serves only what the test publishes)."""
    binary = Path(os.environ.get("SANDBOX_VERDACCIO") or VERDACCIO)
    if not binary.exists():
        unavailable(f"verdaccio is not installed at {binary}")
    npm_binary()
    directory.mkdir(parents=True, exist_ok=True)
    storage, config, log = directory / "storage", directory / "config.yaml", directory / "verdaccio.log"
    config.write_text(
        f"storage: {storage}\n"
        f"auth:\n  htpasswd:\n    file: {directory / 'htpasswd'}\n"
        "uplinks: {}\n"
        "packages:\n  '**':\n    access: $all\n    publish: $authenticated\n"
        "log: {type: stdout, format: pretty, level: warn}\n",
        encoding="utf-8",
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    with log.open("wb") as out:
        process = subprocess.Popen([str(binary), "--config", str(config), "--listen", f"127.0.0.1:{port}"], stdout=out, stderr=out)
    try:
        _wait_for(f"{url}-/ping", process, log)
        # the registry's own user API gives the token npm publishes with
        body = json.dumps({"name": "tester", "password": "tester-password"}).encode()
        request = urllib.request.Request(f"{url}-/user/org.couchdb.user:tester", body, {"Content-Type": "application/json"}, method="PUT")
        with urllib.request.urlopen(request, timeout=30) as answer:
            token = json.load(answer)["token"]
        npmrc = directory / "npmrc"
        npmrc.write_text(f"//127.0.0.1:{port}/:_authToken={token}\n", encoding="utf-8")
        yield NpmRegistry(url, storage, npmrc)
    finally:
        process.terminate()
        process.wait(timeout=60)


def npm_package(directory: Path, name: str, version: str, dependencies: dict[str, str] | None = None, command: str | None = None) -> Path:
    """A package directory: package.json, index.js, and a command printing name@version."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"name": name, "version": version, "license": "MIT", "main": "index.js"}
    if dependencies:
        manifest["dependencies"] = dependencies
    (directory / "index.js").write_text(f"module.exports = {json.dumps(f'{name}@{version}')};\n", encoding="utf-8")
    if command:
        manifest["bin"] = {command: "cli.js"}
        requires = "".join(f"require({json.dumps(d)});\n" for d in dependencies or {})
        (directory / "cli.js").write_text(f"#!/usr/bin/env node\n{requires}console.log(require('./index.js'));\n", encoding="utf-8")
    (directory / "package.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return directory


# -- PyPI ------------------------------------------------------------------------------------


def wheel(directory: Path, name: str, version: str, requires: tuple[str, ...] = (), command: str | None = None, marker: str = "") -> Path:
    """A pure-Python wheel built by hand (a zip with the dist-info files the spec asks for);
    ``marker`` changes the module's text, so two wheels of one version differ in bytes."""
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    files = {f"{module}/__init__.py": f"VERSION = {version!r}  # {marker}\n\ndef main():\n    print({name!r}, VERSION)\n"}
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires)
    files[f"{dist_info}/METADATA"] = metadata
    files[f"{dist_info}/WHEEL"] = "Wheel-Version: 1.0\nGenerator: sandbox-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    if command:
        files[f"{dist_info}/entry_points.txt"] = f"[console_scripts]\n{command} = {module}:main\n"
    record = ""
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record += f"{path},sha256={digest},{len(text.encode())}\n"
    files[f"{dist_info}/RECORD"] = record + f"{dist_info}/RECORD,,\n"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(zipfile.ZipInfo(member, (2020, 1, 1, 0, 0, 0)), text)
    return path


def simple_index(root: Path, wheels: list[Path]) -> None:
    """A PEP 503 tree under root/simple: one page per project, linking its wheels (which
    sit beside the pages) without hashes, so the client computes them from the bytes."""
    projects: dict[str, list[Path]] = {}
    for path in wheels:
        projects.setdefault(path.name.split("-")[0].replace("_", "-").lower(), []).append(path)
    simple = root / "simple"
    simple.mkdir(parents=True, exist_ok=True)
    for project, files in projects.items():
        page = simple / project
        page.mkdir(exist_ok=True)
        links = ""
        for path in files:
            shutil.copy(path, page / path.name)
            links += f'<a href="{path.name}">{path.name}</a>\n'
        (page / "index.html").write_text(f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n", encoding="utf-8")
    listing = "".join(f'<a href="{p}/">{p}</a>\n' for p in sorted(projects))
    (simple / "index.html").write_text(f"<!DOCTYPE html>\n<html><body>\n{listing}</body></html>\n", encoding="utf-8")

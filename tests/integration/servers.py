"""Local servers and artifacts for building the integration spec without the internet.

Everything a build downloads comes from one static HTTP server on 127.0.0.1 (builds use
``--network host`` to reach it):

- ``/releases/``: release tarballs made here (a tiny script) or repackaged from PyPI (uv)
- ``/git/``: a bare repository served over git's dumb HTTP protocol (``update-server-info``)
- ``/npm/`` + ``/npm-tarballs/``: a one-package npm registry (packument + tarball)
- ``/simple/`` + ``/packages/``: a one-package PEP 503 index for uv

Packages that must be real (npm, PyPI) are fetched once from the public registries this
machine can reach (PyPI's simple index, the npm registry) and cached; their digests are
checked against what the registry publishes.

Reusable outside pytest (bench/): ``start_site(workdir)`` returns a running :class:`Site`.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import threading
import urllib.request
import zipfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

#: real packages the integration spec installs (exact versions, no dependencies)
NPM_PACKAGE = ("semver", "7.6.3")
PYPI_PACKAGE = ("cowsay", "6.1")
UV_VERSION = "0.9.5"
HELLO_VERSION = "1.2.3"

PYPI_SIMPLE = "https://pypi.org/simple"
NPM_REGISTRY = "https://registry.npmjs.org"
CACHE_ENV = "SANDBOX_TEST_CACHE"

#: git commits are made with fixed dates and identity, so their ids (and the Dockerfile that
#: pins one) are the same on every run and the build cache keeps working
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "sandbox tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "sandbox tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def cache_dir() -> Path:
    path = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "opencode-sandbox-tests")
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the HTTP server ------------------------------------------------------------------------


class _Handler(http.server.SimpleHTTPRequestHandler):
    def guess_type(self, path: str) -> str:
        if "/npm/" in str(path).replace(os.sep, "/"):
            return "application/json"
        return super().guess_type(path)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        self.server.requests.append(self.path)  # type: ignore[attr-defined]


class FileServer:
    """A static file server on 127.0.0.1 in a daemon thread; records the paths requested.
    The tests' one server of a directory; ``with FileServer(root) as server:`` stops it."""

    def __init__(self, root: Path, port: int = 0) -> None:
        self.root = root
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), partial(_Handler, directory=str(root)))
        self.httpd.requests = []  # type: ignore[attr-defined]
        # shutdown() waits for the loop to look at its flag: every 0.5 s by default, which a
        # hundred short-lived servers in the suite would each pay on stopping
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="integration-http", daemon=True
        )
        self.thread.start()

    def __enter__(self) -> FileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests  # type: ignore[attr-defined]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# -- artifacts ------------------------------------------------------------------------------


def _deterministic_tar_gz(dest: Path, members: dict[str, tuple[bytes, int]]) -> None:
    """A tar.gz whose bytes depend only on ``members`` (name -> (content, mode))."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, (content, mode) in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), mode, 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(content))
    dest.parent.mkdir(parents=True, exist_ok=True)
    # level 1: uv is ~40 MB and this runs per session; the digest is computed, not pinned
    with open(dest, "wb") as handle, gzip.GzipFile(fileobj=handle, mode="wb", mtime=0, filename="", compresslevel=1) as gz:
        gz.write(raw.getvalue())


def make_hello_release(releases: Path, version: str = HELLO_VERSION) -> tuple[str, str]:
    """hello-VERSION-linux-x86_64.tar.gz holding hello-VERSION/bin/hello; (asset name, sha256)."""
    asset = f"hello-{version}-linux-x86_64.tar.gz"
    script = f'#!/bin/sh\necho "hello {version}"\n'.encode()
    _deterministic_tar_gz(releases / asset, {f"hello-{version}-linux-x86_64/bin/hello": (script, 0o755)})
    return asset, sha256_of(releases / asset)


def _download(url: str, dest: Path, sha256: str | None = None, algorithm: str = "sha256", expected_b64: str | None = None) -> Path:
    """Fetch ``url`` to ``dest`` once (kept in the cache), checking the published digest."""
    if not dest.exists():
        data = urllib.request.urlopen(url, timeout=120).read()  # https registry URLs
        if sha256 and hashlib.sha256(data).hexdigest() != sha256:
            raise RuntimeError(f"{url}: sha256 differs from the one the index publishes")
        if expected_b64 and base64.b64encode(hashlib.new(algorithm, data).digest()).decode() != expected_b64:
            raise RuntimeError(f"{url}: {algorithm} differs from the registry's integrity")
        tmp = dest.with_suffix(dest.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(dest)
    return dest


def fetch_pypi_file(project: str, version: str, pattern: str) -> Path:
    """A file of ``project`` from PyPI's simple index whose name matches ``pattern`` (regex)."""
    wanted = re.compile(pattern)
    cached = [p for p in cache_dir().glob(f"{project}-{version}*") if wanted.fullmatch(p.name)]
    if cached:
        return cached[0]
    request = urllib.request.Request(f"{PYPI_SIMPLE}/{project}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    index = json.load(urllib.request.urlopen(request, timeout=60))
    for entry in index["files"]:
        if wanted.fullmatch(entry["filename"]) and entry["filename"].startswith(f"{project}-{version}"):
            return _download(entry["url"], cache_dir() / entry["filename"], sha256=entry["hashes"]["sha256"])
    raise RuntimeError(f"PyPI has no file of {project} {version} matching {pattern}")


#: Docker's architecture names -> the machine names in uv's wheels and release assets
UV_MACHINES = {"amd64": "x86_64", "arm64": "aarch64"}


def publish_go_module(root: Path, module: str, version: str, sources: dict[str, str]) -> None:
    """A GOPROXY file tree under ``root`` (the GOPROXY protocol's layout) serving ``module`` at
    ``version`` with ``sources`` (path -> text; a go.mod among them); a `file://` GOPROXY reads
    it offline. The zip's entries carry a fixed time, so the same module gives the same bytes."""
    versions = root / module / "@v"
    versions.mkdir(parents=True)
    (versions / "list").write_text(version + "\n")
    (versions / f"{version}.info").write_text(f'{{"Version":"{version}","Time":"2026-01-01T00:00:00Z"}}\n')
    (versions / f"{version}.mod").write_text(sources["go.mod"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, text in sorted(sources.items()):
            archive.writestr(zipfile.ZipInfo(f"{module}@{version}/{path}", date_time=(2026, 1, 1, 0, 0, 0)), text)
    (versions / f"{version}.zip").write_bytes(buffer.getvalue())


def make_uv_release(releases: Path, version: str = UV_VERSION, arch: str = "amd64") -> tuple[str, str]:
    """uv's real Linux binary for ``arch``, taken from its PyPI wheel and packed like an upstream
    release; (asset name, sha256)."""
    machine = UV_MACHINES[arch]
    wheel = fetch_pypi_file(
        "uv",
        version,
        rf"uv-{re.escape(version)}-py3-none-manylinux_2_17_{machine}\.manylinux2014_{machine}(\.musllinux_1_1_{machine})?\.whl",
    )
    with zipfile.ZipFile(wheel) as archive:
        binary = archive.read(f"uv-{version}.data/scripts/uv")
    asset = f"uv-{version}-{machine}-unknown-linux-gnu.tar.gz"
    _deterministic_tar_gz(releases / asset, {f"uv-{version}-{machine}-unknown-linux-gnu/uv": (binary, 0o755)})
    return asset, sha256_of(releases / asset)


def make_opencode_release(releases: Path, version: str) -> tuple[str, str]:
    """The real opencode binary, packed like its upstream release (``opencode`` at the top of
    opencode-linux-x64.tar.gz); (asset name, sha256 of those bytes).

    The binary comes from npm's ``opencode-linux-x64`` package of the same version, checked
    against the registry's integrity digest (whether it is byte-identical to the GitHub
    release's binary is not known; it is opencode's own prebuilt binary either way). The
    repacked tarball is cached: packing 180 MB costs seconds per session otherwise."""
    asset = "opencode-linux-x64.tar.gz"
    packed = cache_dir() / f"opencode-{version}-{asset}"
    if not packed.exists():
        manifest = json.load(urllib.request.urlopen(f"{NPM_REGISTRY}/opencode-linux-x64/{version}", timeout=60))
        algorithm, digest = manifest["dist"]["integrity"].split("-", 1)
        tarball = _download(manifest["dist"]["tarball"], cache_dir() / f"npm-opencode-linux-x64-{version}.tgz",
                            algorithm=algorithm, expected_b64=digest)  # fmt: skip
        with tarfile.open(tarball) as package:
            binary = package.extractfile("package/bin/opencode").read()  # type: ignore[union-attr]
        staging = packed.with_suffix(".part")
        _deterministic_tar_gz(staging, {"opencode": (binary, 0o755)})
        staging.replace(packed)
    releases.mkdir(parents=True, exist_ok=True)
    shutil.copy2(packed, releases / asset)
    return asset, sha256_of(packed)


def publish_pypi(root: Path, project: str, version: str) -> Path:
    """Serve the real wheel of ``project`` under /simple/ (PEP 503) and /packages/."""
    wheel = fetch_pypi_file(project, version, rf"{re.escape(project)}-{re.escape(version)}-py3-none-any\.whl")
    packages = root / "packages"
    packages.mkdir(parents=True, exist_ok=True)
    shutil.copy2(wheel, packages / wheel.name)
    page = root / "simple" / project.lower()
    page.mkdir(parents=True, exist_ok=True)
    link = f'<a href="../../packages/{wheel.name}#sha256={sha256_of(wheel)}">{wheel.name}</a>'
    (page / "index.html").write_text(f"<!DOCTYPE html><html><body>{link}</body></html>\n", encoding="utf-8")
    return wheel


def publish_npm(root: Path, base_url: str, name: str, version: str) -> dict:
    """Serve the real tarball of ``name@version`` and a packument pointing at it."""
    manifest = json.load(urllib.request.urlopen(f"{NPM_REGISTRY}/{name}/{version}", timeout=60))
    dist = manifest["dist"]
    algorithm, digest = dist["integrity"].split("-", 1)
    tarball = _download(dist["tarball"], cache_dir() / f"npm-{name}-{version}.tgz", algorithm=algorithm, expected_b64=digest)
    served = root / "npm-tarballs" / f"{name}-{version}.tgz"
    served.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(tarball, served)
    version_doc = {key: manifest[key] for key in ("name", "version", "bin", "engines", "dependencies", "license") if key in manifest}
    version_doc["dist"] = {
        "tarball": f"{base_url}/npm-tarballs/{served.name}",
        "integrity": dist["integrity"],
        "shasum": dist["shasum"],
    }
    packument = {"name": name, "dist-tags": {"latest": version}, "versions": {version: version_doc}}
    (root / "npm").mkdir(parents=True, exist_ok=True)
    (root / "npm" / name).write_text(json.dumps(packument), encoding="utf-8")
    return version_doc


def _git(*args: str, cwd: Path) -> str:
    env = {**os.environ, **_GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def make_git_repo(root: Path, name: str = "fixture") -> tuple[str, str, str]:
    """A bare repo at root/git/NAME.git with two commits; (path, pinned commit, head commit).

    The pinned (first) commit's README says ``pinned-commit``; HEAD's says ``moved-on``, so a
    checkout that ignored the pin is visible in the image.
    """
    work = root.parent / f"{name}-work"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    _git("init", "--quiet", "--initial-branch=main", cwd=work)
    commits = []
    for day, text in ((1, "pinned-commit"), (2, "moved-on")):
        (work / "README").write_text(f"{text}\n", encoding="utf-8")
        _git("add", "README", cwd=work)
        stamp = f"2024-01-0{day}T00:00:00+00:00"
        subprocess.run(
            ["git", "commit", "--quiet", "-m", text],
            cwd=work,
            env={**os.environ, **_GIT_ENV, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp},
            check=True,
            capture_output=True,
        )
        commits.append(_git("rev-parse", "HEAD", cwd=work))
    bare = root / "git" / f"{name}.git"
    if bare.exists():
        shutil.rmtree(bare)
    bare.parent.mkdir(parents=True, exist_ok=True)
    _git("clone", "--quiet", "--bare", str(work), str(bare), cwd=root)
    _git("update-server-info", cwd=bare)
    shutil.rmtree(work)
    return f"/git/{name}.git", commits[0], commits[1]


# -- everything together --------------------------------------------------------------------


@dataclass
class Site:
    """The running server and what it serves."""

    server: FileServer
    root: Path
    hello: tuple[str, str]  # asset, sha256
    uv: tuple[str, str]
    git_url: str
    git_pinned: str
    git_head: str
    npm: tuple[str, str] = NPM_PACKAGE
    pypi: tuple[str, str] = PYPI_PACKAGE
    extra: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def releases_url(self) -> str:
        return f"{self.url}/releases"

    @property
    def npm_registry(self) -> str:
        return f"{self.url}/npm/"

    @property
    def pypi_index(self) -> str:
        return f"{self.url}/simple/"

    def stop(self) -> None:
        self.server.stop()


def start_site(workdir: Path, port: int = 0) -> Site:
    """Lay out every artifact under workdir/www and serve it on 127.0.0.1:``port``."""
    root = workdir / "www"
    root.mkdir(parents=True, exist_ok=True)
    server = FileServer(root, port)
    try:
        releases = root / "releases"
        hello = make_hello_release(releases)
        uv = make_uv_release(releases)
        git_path, pinned, head = make_git_repo(root)
        publish_npm(root, server.url, *NPM_PACKAGE)
        publish_pypi(root, *PYPI_PACKAGE)
    except BaseException:
        server.stop()
        raise
    return Site(server, root, hello, uv, f"{server.url}{git_path}", pinned, head)


class HangingServer:
    """Answers nothing until released: a download step that never finishes, for testing build
    timeouts and Ctrl-C. ``hit`` is set once a request arrived (the step is running)."""

    def __init__(self) -> None:
        self.hit = threading.Event()
        self.release = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's naming
                outer.hit.set()
                outer.release.wait(timeout=600)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, name="hanging-http", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

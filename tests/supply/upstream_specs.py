"""Specs for the supply commands that point at a FakeUpstream, and what that upstream serves
for them. Imported by the supply tests by this one name (conftest.py keeps the fixtures)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests.integration.small_specs import spec_data, to_yaml

from .fake_upstream import PREFIXES, FakeUpstream

NOW = datetime.now(timezone.utc)


def iso(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def release_tool(server: FakeUpstream, name: str = "rg", version: str = "1.0.0", **extra: Any) -> dict[str, Any]:
    tool = {
        "name": name,
        "method": "release",
        "version": version,
        "url": server.url("github", f"/owner/{name}/releases/download/{{version}}/{{asset}}"),
        "assets": {"amd64": f"{name}-{{version}}-x86_64.tar.gz", "arm64": f"{name}-{{version}}-aarch64.tar.gz"},
        "binaries": [{"path": f"{{stem}}/{name}", "name": name}],
        "checksum_file": {"url": server.url("github", f"/owner/{name}/releases/download/{{version}}/SHA256SUMS")},
    }
    tool.update(extra)
    return tool


def serve_release(server: FakeUpstream, name: str = "rg", version: str = "1.0.0") -> dict[str, str]:
    """Serve both arch assets of a release_tool, and its SHA256SUMS listing them; returns
    arch -> sha256 of the bytes served."""
    triples = (("amd64", "x86_64"), ("arm64", "aarch64"))
    served = {
        arch: server.artifact(
            "github",
            f"/owner/{name}/releases/download/{version}/{name}-{version}-{triple}.tar.gz",
            f"{name} {version} for {triple}\n".encode() * 500,
        )
        for arch, triple in triples
    }
    sums = "".join(f"{served[arch]}  {name}-{version}-{triple}.tar.gz\n" for arch, triple in triples)
    server.artifact("github", f"/owner/{name}/releases/download/{version}/SHA256SUMS", sums.encode())
    return served


def serve_checksum_files(server: FakeUpstream, served: dict[str, str]) -> None:
    """For release assets already served (path under the github prefix -> sha256): each
    one's ``ASSET.sha256`` and, per directory, a SHA256SUMS and a SHASUMS256.txt listing
    them, the checksum files the specs of these tests name."""
    directories: dict[str, list[str]] = {}
    for path, sha in served.items():
        directory, name = path.rsplit("/", 1)
        line = f"{sha}  {name}\n"
        server.artifact("github", f"{path}.sha256", line.encode())
        directories.setdefault(directory, []).append(line)
    for directory, lines in directories.items():
        for sums in ("SHA256SUMS", "SHASUMS256.txt"):
            server.artifact("github", f"{directory}/{sums}", "".join(lines).encode())


def npm_version(server: FakeUpstream, name: str, version: str) -> dict[str, Any]:
    """A packument's entry for name@version, with a real tarball served and its sha512
    integrity (what `sandbox lock` has npm resolve the npm tools' transitive locks with)."""
    manifest = json.dumps({"name": name, "version": version, "license": "MIT"}).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        member = tarfile.TarInfo("package/package.json")
        member.size, member.mtime = len(manifest), 0
        archive.addfile(member, io.BytesIO(manifest))
    tarball = buffer.getvalue()
    path = f"/{name}/-/{name}-{version}.tgz"
    server.artifact("npm", path, tarball)
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    return {"name": name, "version": version, "dist": {"tarball": server.url("npm", path), "integrity": integrity}}


def serve_wheels(server: FakeUpstream, name: str, versions: tuple[str, ...]) -> None:
    """A PEP 503 page for ``name`` under the PyPI upstream's /simple/, linking a wheel of each
    version built here (what `sandbox lock` has uv resolve the uv tools' locks from)."""
    from .package_registries import wheel

    with tempfile.TemporaryDirectory() as scratch:
        links = ""
        for version in versions:
            path = wheel(Path(scratch), name, version, command=name)
            server.artifact("pypi", f"/packages/{path.name}", path.read_bytes())
            links += f'<a href="{server.url("pypi", f"/packages/{path.name}")}">{path.name}</a>\n'
    page = f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n"
    server.serve(PREFIXES["pypi"] + f"/simple/{name}/", page, headers={"Content-Type": "text/html"})


def write_spec(directory: Path, *tools: dict[str, Any], **top: Any) -> Path:
    path = directory / "sandbox.yaml"
    path.write_text(to_yaml(spec_data(*tools, **top)), encoding="utf-8")
    return path


def _gh(tag: str, days_ago: float, **flags: bool) -> dict[str, Any]:
    return {"tag_name": tag, "published_at": iso(days_ago), "html_url": f"https://example.invalid/releases/{tag}", **flags}


def serve_sources(server: FakeUpstream) -> None:
    """Every upstream of tests/supply/data/commented.yaml, each with something to skip:
    pre-releases, drafts, yanked or deprecated versions, releases on other dist-tags."""
    server.github_releases("BurntSushi/ripgrep", [
        _gh("16.0.0", 1, prerelease=True), _gh("15.3.0", 1, draft=True), _gh("15.2.0", 30), _gh("15.1.0", 90),
    ])  # fmt: skip
    server.github_releases("krallin/tini", [_gh("v0.19.0", 100), _gh("v0.18.0", 900)])
    server.github_releases("jdx/mise", [_gh("v2024.3.0", 2), _gh("v2024.2.0", 20), _gh("v2024.1.0", 60)])
    server.github_releases("astral-sh/uv", [_gh("0.2.0", 10), _gh("0.1.0", 40)])
    server.github_releases("example/installer", [_gh("v1.1.0", 15), _gh("v1.0.0", 300)])
    server.serve_json("/node/index.json", [
        {"version": "v21.1.0", "date": iso(5)[:10], "lts": False},
        {"version": "v20.12.2", "date": iso(12)[:10], "lts": "Iron"},
        {"version": "v20.11.0", "date": iso(80)[:10], "lts": "Iron"},
    ])  # fmt: skip
    server.serve_json("/python/api/v2/downloads/release/?is_published=true", [
        {"name": "Python 3.14.0b1", "pre_release": True, "release_date": iso(3)},
        {"name": "Python 3.13.1", "pre_release": False, "release_date": iso(9)},
        {"name": "Python 3.12.7", "pre_release": False, "release_date": iso(40)},
    ])  # fmt: skip
    prettier = ("3.1.0", "3.2.0", "3.3.0", "4.0.0-alpha.1")
    server.serve_json("/npm/prettier", {
        "name": "prettier",
        "dist-tags": {"latest": "3.2.0", "next": "3.3.0"},
        "versions": {version: npm_version(server, "prettier", version) for version in prettier},
        "time": {"3.1.0": iso(200), "3.2.0": iso(8), "3.3.0": iso(1), "4.0.0-alpha.1": iso(1)},
    })  # fmt: skip
    server.serve_json("/pypi-host/pypi/ruff/json", {"releases": {
        "0.4.0": [{"upload_time_iso_8601": iso(100), "yanked": False}],
        "0.4.5": [{"upload_time_iso_8601": iso(11), "yanked": False}],
        "0.5.0": [{"upload_time_iso_8601": iso(4), "yanked": True}],
    }})  # fmt: skip
    serve_wheels(server, "ruff", ("0.4.0", "0.4.5"))
    server.serve_json("/crates/api/v1/crates/tokei", {"versions": [
        {"num": "13.0.0-alpha.1", "created_at": iso(2), "yanked": False},
        {"num": "12.1.3", "created_at": iso(25), "yanked": False},
        {"num": "12.1.2", "created_at": iso(400), "yanked": False},
        {"num": "12.2.0", "created_at": iso(20), "yanked": True},
    ]})  # fmt: skip
    # the package path is not a module: the proxy answers 404 until the module root
    server.serve("/goproxy/mvdan.cc/sh/v3/@v/list", "v3.7.0\nv3.8.0\nv3.9.0-rc.1\n")
    server.serve_json("/goproxy/mvdan.cc/sh/v3/@v/v3.8.0.info", {"Version": "v3.8.0", "Time": iso(33)})
    server.serve_json("/go/dl/?mode=json&include=all", [
        {"version": "go1.24rc1", "stable": False}, {"version": "go1.23.0", "stable": True},
        {"version": "go1.22.1", "stable": True},
    ])  # fmt: skip
    server.tags("library/ubuntu", ["22.04", "24.04", "24.10", "noble", "latest"])


def commented_spec(server: FakeUpstream, directory: Path, name: str = "commented.yaml") -> Path:
    text = (Path(__file__).parent / "data" / name).read_text(encoding="utf-8")
    path = directory / "sandbox.yaml"
    path.write_text(text.replace("@UPSTREAM@", server.base), encoding="utf-8")
    return path

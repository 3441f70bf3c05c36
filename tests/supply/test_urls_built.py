"""The URL `sandbox lock` records, the URLs `sandbox sbom` lists (CycloneDX and SPDX) and the
URL a release stage's build fetches are one and the same, byte for byte: for every
placeholder of generator/placeholders.py, alone and all together, in every field that takes
it (the URL's directory and its last part, the asset's name, the checksum file's URL beside
the download and elsewhere; and the paths inside the archive, which the build must find), on
every platform.

The build is the stage's RUN from the generated Dockerfile, run as BuildKit would run it
(TARGETARCH set) against a fake upstream on 127.0.0.1, with the real
files/sandbox-install-release and the real curl behind a wrapper that records each URL it is
given. It runs twice: before `sandbox lock` (checked against the checksum file, which must be
the one `lock` checked) and after it (checked against the locked digest)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dockerfile

from generator import placeholders
from generator.loader import load_spec
from generator.lockfile import Lock
from generator.methods.release import ReleaseTool
from tests.integration.scripts import link_scripts

from .fake_upstream import FakeUpstream
from .upstream_specs import write_spec

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "files" / "sandbox-install-release"
ARCHES = ("amd64", "arm64")
VERSION = "1.2.3"
MANIFEST = b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}'
BINARY = b"#!/bin/sh\necho built\n"

#: curl as the script calls it (curl -fsSL --retry 3 -o FILE URL): the URL recorded, then
#: the real curl
CURL = """#!/bin/bash
for word in "$@"; do url=$word; done
printf '%s\\n' "${url}" >> "${URL_LOG}"
exec REAL_CURL "$@"
"""

ALL = tuple(placeholders.PLACEHOLDERS)
#: the tools built again once locked
LOCKED = ("all", "one-name", "raw", "named", "last-asset", "elsewhere-stem")
IN_ASSETS = placeholders.RELEASE_ASSET.allowed


def _name(*parts: str) -> str:
    return "-".join(parts).replace("_", "-")


def _release(server: FakeUpstream, name: str, **fields: Any) -> dict[str, Any]:
    """A release tool whose URLs all lie under /gh/NAME/ (so no two tools share a file); by
    default an asset named with {version} and {uname}, a binary under {stem}/, unverified."""
    tool: dict[str, Any] = {
        "name": name,
        "method": "release",
        "version": VERSION,
        "url": server.url("github", f"/{name}/dl/{{asset}}"),
        "assets": dict.fromkeys(ARCHES, f"{name}-{{version}}-{{uname}}.tar.gz"),
        "binaries": [{"path": "{stem}/bin/" + name, "name": name}],
        "unverified": "test download",
    }
    for key, value in fields.items():
        tool[key] = value.replace("BASE", server.url("github", f"/{name}")) if isinstance(value, str) else value
    if "checksum_file" in tool:
        del tool["unverified"]
        tool["checksum_file"] = {"url": tool["checksum_file"].replace("BASE", server.url("github", f"/{name}"))}
    return tool


def _cases(server: FakeUpstream) -> Iterator[dict[str, Any]]:
    for p in ALL:
        # in the URL's directory, and as its last part (then not the asset's name: --url)
        yield _release(server, _name("dir", p), url=f"BASE/{{{p}}}/{{asset}}")
        yield _release(server, _name("last", p), url=f"BASE/last/{{{p}}}")
        # the checksum file's URL, beside the download (relative to --from) and elsewhere
        yield _release(server, _name("sums", p), checksum_file=f"BASE/dl/{{{p}}}.sums")
        yield _release(server, _name("elsewhere", p), checksum_file=f"BASE/other/{{{p}}}/SUMS")
    for p in IN_ASSETS:
        yield _release(server, _name("asset", p), assets=dict.fromkeys(ARCHES, f"a-{{{p}}}.tar.gz"))
    # everything at once, each placeholder in every field that takes it
    every = "/".join(f"{{{p}}}" for p in ALL)
    yield _release(
        server, "all",
        url=f"BASE/{every}/{{asset}}",
        assets=dict.fromkeys(ARCHES, "all-" + "-".join(f"{{{p}}}" for p in IN_ASSETS) + ".tar.xz"),
        checksum_file=f"BASE/{every}/{{stem}}.{{short}}.sums",
        tree="{stem}/{arch}",
        binaries=[{"path": "{uname}/{triple_arch}/{short}/{version}", "name": "all"}, {"path": "{asset}/x", "name": "all-asset"}],
    )  # fmt: skip
    # assets that differ in more than the arch, a zip and raw downloads
    yield _release(server, "named", assets={"amd64": "n_{version}_Linux_x86_64.zip", "arm64": "n_{version}_linux_{arch}.zip"})
    yield _release(server, "raw", assets=dict.fromkeys(ARCHES, "raw-{version}-{short}"), binaries=[], url="BASE/v{version}/{asset}")
    yield _release(server, "one-name", assets=dict.fromkeys(ARCHES, "tool"), binaries=[], url="BASE/{arch}/{asset}",
                   checksum_file="BASE/{arch}/tool.sha256")  # fmt: skip


def _pack(asset: str, members: set[str]) -> bytes:
    if placeholders.archive_suffix(asset) == "":
        return BINARY
    buffer = io.BytesIO()
    if asset.endswith(".zip"):
        with zipfile.ZipFile(buffer, "w") as archive:
            for member in sorted(members):
                archive.writestr(member, BINARY)
        return buffer.getvalue()
    mode = "xz" if asset.endswith(".tar.xz") else "gz"
    with tarfile.open(fileobj=buffer, mode=f"w:{mode}") as archive:
        for member in sorted(members):
            info = tarfile.TarInfo(member)
            info.size, info.mode = len(BINARY), 0o755
            archive.addfile(info, io.BytesIO(BINARY))
    return buffer.getvalue()


def _serve(server: FakeUpstream, tools: list[ReleaseTool]) -> None:
    """Each tool's downloads at the URLs the generator computes for `lock` and the SBOM (an
    archive holding every path the binaries have on any arch that shares the URL), and its
    checksum files listing them."""
    prefix = server.url("github", "")
    members: dict[str, set[str]] = {}
    names: dict[str, str] = {}
    for tool in tools:
        for arch in ARCHES:
            url = tool.asset_url(arch)
            paths = {tool.fill(b.path, arch) for b in tool.installed if b.path}
            if tool.tree:
                paths = {f"{tool.fill(tool.tree, arch)}/{path}" for path in paths}
            members.setdefault(url, set()).update(paths)
            names[url] = tool.asset_name(arch)
    digests = {url: server.artifact("github", url.removeprefix(prefix), _pack(names[url], paths)) for url, paths in members.items()}
    listings: dict[str, set[str]] = {}
    for tool in tools:
        for arch in ARCHES:
            sums = tool.checksum_file_for(arch)
            if sums:
                listings.setdefault(sums[0], set()).add(f"{digests[tool.asset_url(arch)]}  {sums[2]}\n")
    for url, lines in listings.items():
        server.artifact("github", url.removeprefix(prefix), "".join(sorted(lines)).encode())


def _built(tmp_path: Path, spec: Path, tool: ReleaseTool, arch: str) -> list[str]:
    """The URLs the tool's stage fetches for ``arch``, in order (its binaries installed)."""
    text = (spec.parent / "Dockerfile").read_text()
    (run,) = [
        c.value[0]
        for c in dockerfile.parse_string(text)
        if c.cmd == "RUN" and c.value[0].startswith(f"sandbox-install-release {tool.name} ")
    ]
    work = tmp_path / "build" / f"{tool.name}-{arch}"
    bin_dir = work / "bin"
    bin_dir.mkdir(parents=True)
    link_scripts(bin_dir)
    curl = shutil.which("curl")
    assert curl, "curl is needed to fetch as the build does"
    (bin_dir / "curl").write_text(CURL.replace("REAL_CURL", curl))
    (bin_dir / "curl").chmod(0o755)
    log = work / "urls"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "TARGETARCH": arch, "TMPDIR": str(work), "URL_LOG": str(log)}
    out = work / "out"
    result = subprocess.run(["bash", "-o", "pipefail", "-c", f"{run} --into {out}"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{tool.name} on {arch}: {result.stderr}"
    for binary in tool.installed:
        path = out / "usr" / "local" / "bin" / binary.name
        if tool.tree:  # a link into /opt/TOOL, the tree
            path = out / Path(path.readlink()).relative_to("/")
        assert path.read_bytes() == BINARY, path
    return log.read_text().splitlines()


def _build_all(tmp_path: Path, spec: Path, tools: list[ReleaseTool]) -> dict[tuple[str, str], list[str]]:
    """(tool, arch) -> the URLs its stage fetches; the stages run side by side, as BuildKit runs them."""
    jobs = [(tool, arch) for tool in tools for arch in ARCHES]
    with ThreadPoolExecutor(max_workers=8) as pool:
        fetched = pool.map(lambda job: _built(tmp_path, spec, *job), jobs)
        return {(tool.name, arch): urls for (tool, arch), urls in zip(jobs, fetched, strict=True)}


def _sbom_urls(sandbox, spec: Path) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]:
    """(tool, arch) -> download URL, as the CycloneDX SBOM and as the SPDX SBOM list it."""
    result = sandbox(spec, "sbom")
    assert result.returncode == 0, result.stderr
    cdx = {}
    for component in json.loads(result.stdout)["components"]:
        tool = next((p["value"] for p in component.get("properties", []) if p["name"] == "sandbox:tool"), None)
        for reference in component.get("externalReferences", []):
            if reference["type"] == "distribution":
                cdx[(tool, reference["comment"].split(";")[0])] = reference["url"]
    result = sandbox(spec, "sbom", "--format", "spdx")
    assert result.returncode == 0, result.stderr
    spdx = {}
    for package in json.loads(result.stdout)["packages"]:
        comment = package.get("comment", "")
        if comment.startswith("tool ") and "; download " in comment:
            arch = comment.split("; download ")[1].split(",")[0]
            spdx[(comment.split()[1], arch)] = package["downloadLocation"]
    return cdx, spdx


def test_lock_sbom_and_build_name_the_same_urls(tmp_path: Path, upstream: FakeUpstream, sandbox):
    upstream.image("library/ubuntu", "24.04", MANIFEST)
    spec = write_spec(tmp_path, *_cases(upstream), base={"image": "ubuntu", "tag": "24.04", "packages": ["curl", "unzip", "xz-utils"]})
    tools = [t for t in load_spec(spec).tools if isinstance(t, ReleaseTool)]
    assert len(tools) == 4 * len(ALL) + len(IN_ASSETS) + 4
    _serve(upstream, tools)

    # before the lock: (where the spec names one) the checksum file, then the download
    assert sandbox(spec, "generate").returncode == 0
    before = _build_all(tmp_path / "unlocked", spec, tools)

    upstream.requests.clear()
    result = sandbox(spec, "lock")
    assert result.returncode == 0, result.stderr
    asked_by_lock = {upstream.base + r.path for r in upstream.requests}
    locked = _lock_urls(spec)
    cdx, spdx = _sbom_urls(sandbox, spec)

    # after it: the download alone, checked against the locked digest (the stages' URLs are
    # written as before, so a few tools of each kind show it)
    assert sandbox(spec, "generate").returncode == 0
    after = _build_all(tmp_path / "locked", spec, [tool for tool in tools if tool.name in LOCKED])

    for tool in tools:
        for arch in ARCHES:
            key = (tool.name, arch)
            url = locked[tool.name][arch]
            assert url == cdx[key] == spdx[key] == before[key][-1], key
            assert after.get(key, [url]) == [url], key
            sums = tool.checksum_file_for(arch)
            if sums:
                # the checksum file the build checks is the one `sandbox lock` checked
                assert before[key] == [sums[0], url] and sums[0] in asked_by_lock, key
            else:
                assert before[key] == [url], key


def _lock_urls(spec: Path) -> dict[str, dict[str, str]]:
    lock = Lock.read(spec.parent / "sandbox.lock")
    return {tool: {key: entry.url for key, entry in entries.items()} for tool, entries in lock.artifacts.items()}


def test_the_urls_are_what_the_placeholders_stand_for(upstream: FakeUpstream):
    """What the test above holds equal, spelled out once for the tool with every placeholder."""
    (data,) = [t for t in _cases(upstream) if t["name"] == "all"]
    tool = ReleaseTool.model_validate(data)
    base = upstream.url("github", "/all")
    for arch, names in {"amd64": "amd64/x86_64/x86_64/x64", "arm64": "arm64/aarch64/aarch64/arm64"}.items():
        stem = f"all-{VERSION}-{names.replace('/', '-')}"
        assert tool.asset_name(arch) == f"{stem}.tar.xz"
        assert tool.asset_url(arch) == f"{base}/{VERSION}/{names}/{stem}.tar.xz/{stem}/{stem}.tar.xz"
        short = names.rsplit("/", 1)[1]
        assert tool.checksum_file_for(arch) == (
            f"{base}/{VERSION}/{names}/{stem}.tar.xz/{stem}/{stem}.{short}.sums",
            "sha256sum",
            f"{stem}.tar.xz",
        )

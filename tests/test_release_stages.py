"""Every release stage of the committed specs, run for real for each platform: the rendered
RUN calls files/sandbox-install-release with curl stubbed by a table of the URLs the
generator computes (the ones `sandbox lock` and the SBOM record). So the stage's templates,
filled by the script, name exactly those URLs, and the binaries land where the spec says."""

from __future__ import annotations

import functools
import hashlib
import io
import subprocess
import tarfile
import zipfile
from pathlib import Path

import dockerfile
import pytest

from generator.loader import load_spec
from generator.lockfile import Lock
from generator.methods.context import RenderContext
from generator.methods.release import ReleaseTool
from generator.render import render
from tests.integration.scripts import link_scripts

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "files" / "sandbox-install-release"
SPECS = [ROOT / "sandbox.yaml", *sorted(ROOT.glob("examples/*/sandbox.yaml"))]

#: curl -fsSL --retry 3 -o FILE URL, answered from $STUB_DOWNLOADS/<sha256 of URL>; 404 otherwise
STUB_CURL = """#!/bin/bash
while [ "$#" -gt 0 ]; do
  case "$1" in
    -o) out=$2; shift 2 ;;
    -*) shift ;;
    *) url=$1; shift ;;
  esac
done
echo "${url}" >> "${STUB_DOWNLOADS}/requested"
key=$(printf '%s' "${url}" | sha256sum | cut -d' ' -f1)
if [ ! -f "${STUB_DOWNLOADS}/${key}" ]; then
  echo "curl: (22) The requested URL returned error: 404" >&2
  exit 22
fi
cp "${STUB_DOWNLOADS}/${key}" "${out}"
"""


def _archive(kind: str, members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
    else:
        mode = {"tar.gz": "gz", "tar.xz": "xz", "tar.bz2": "bz2"}[kind]
        with tarfile.open(fileobj=buffer, mode=f"w:{mode}") as archive:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@functools.cache
def _rendered(spec_path: Path) -> tuple:
    """The spec, its lock and the RUNs of every profile's Dockerfile (loaded once per module)."""
    spec = load_spec(spec_path)
    lock = Lock.beside(spec_path)
    runs = {
        profile: [c.value[0] for c in dockerfile.parse_string(render(spec, profile, lock)) if c.cmd == "RUN"] for profile in spec.profiles
    }
    return spec, lock, runs


def _cases():
    for spec_path in SPECS:
        spec, _, _ = _rendered(spec_path)
        for tool in spec.tools:
            if isinstance(tool, ReleaseTool) and tool.enabled:
                for arch in spec.arches:
                    yield pytest.param(spec_path, tool.name, arch, id=f"{spec_path.parent.name or 'root'}-{tool.name}-{arch}")


@pytest.mark.parametrize(("spec_path", "name", "arch"), list(_cases()))
def test_the_rendered_stage_fetches_the_generators_urls(tmp_path: Path, spec_path: Path, name: str, arch: str):
    spec, lock, runs = _rendered(spec_path)
    (tool,) = [t for t in spec.tools if t.name == name]
    profile = next(p for p in spec.profiles if tool.in_profile(p))
    (stage,) = [run for run in runs[profile] if run.startswith(f"sandbox-install-release {name} ")]

    downloads = tmp_path / "downloads"
    downloads.mkdir()

    def serve(url: str, data: bytes) -> None:
        (downloads / hashlib.sha256(url.encode()).hexdigest()).write_bytes(data)

    binary = f"#!/bin/sh\necho {name}\n".encode()
    paths = [tool.fill(b.path, arch) for b in tool.installed if b.path]
    if tool.tree:
        paths = [f"{tool.fill(tool.tree, arch)}/{path}" for path in paths]
    asset = tool.asset_name(arch)
    data = binary if tool.archive_type == "raw" else _archive(tool.archive_type, dict.fromkeys(paths, binary))
    serve(tool.asset_url(arch), data)
    if tool.checksum_file:
        digest = hashlib.sha256(data).hexdigest()
        line = f"SHA256 ({asset}) = {digest}" if tool.checksum_file.format == "bsd" else f"{digest}  {asset}"
        sums = tool.checksum_file_for(arch)
        assert sums is not None
        serve(sums[0], f"{line}\n".encode())

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    link_scripts(bin_dir)
    (bin_dir / "curl").write_text(STUB_CURL)
    (bin_dir / "curl").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "TARGETARCH": arch, "STUB_DOWNLOADS": str(downloads), "TMPDIR": str(tmp_path)}
    out = tmp_path / "out"
    result = subprocess.run(["bash", "-o", "pipefail", "-c", f"{stage} --into {out}"], env=env, capture_output=True, text=True, timeout=60)

    requested = (downloads / "requested").read_text().splitlines()
    # the checksum file first (the digest the asset must have), then the asset
    assert requested[-1] == tool.asset_url(arch)
    if tool.digest(RenderContext(spec, profile, lock), arch):
        # a digest pinned from the real artifact cannot match the stand-in: the check ran on it
        assert result.returncode == 1
        assert result.stderr.strip().endswith(f"sandbox: sha256 mismatch for {name} ({asset})"), result.stderr
        assert requested == [tool.asset_url(arch)]
        return
    assert result.returncode == 0, result.stderr
    if tool.checksum_file:
        assert requested == [tool.fill(tool.checksum_file.url, arch), tool.asset_url(arch)]
    for installed in tool.installed:
        path = out / "usr" / "local" / "bin" / installed.name
        assert path.read_bytes() == binary, path

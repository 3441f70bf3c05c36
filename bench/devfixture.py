"""A small stand-in scenario (release tarballs + a git repo on 127.0.0.1) used until the
integration spec and its servers under tests/integration/ exist."""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import http.server
import io
import random
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

#: name -> payload size (MiB): sizes of typical single-binary CLI tools
RELEASES = {"alpha": 4, "bravo": 12, "charlie": 8, "delta": 20}
VERSIONS = ("1.0.0", "1.1.0")


def _tarball(name: str, version: str, mib: int) -> bytes:
    script = f"#!/bin/sh\necho {name} {version}\nexit 0\n".encode()
    payload = script + random.Random(f"{name}-{version}").randbytes(mib * 1024 * 1024)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(f"{name}-{version}-x86_64/{name}")
        info.size, info.mode, info.mtime = len(payload), 0o755, 0
        tar.addfile(info, io.BytesIO(payload))
    return gzip.compress(raw.getvalue(), compresslevel=1, mtime=0)


def build_artifacts(root: Path) -> dict[str, dict[str, str]]:
    """Write the tarballs; returns sha256 per tool and version."""
    digests: dict[str, dict[str, str]] = {}
    for name, mib in RELEASES.items():
        for version in VERSIONS:
            data = _tarball(name, version, mib)
            path = root / name / version / f"{name}-{version}-x86_64.tar.gz"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            digests.setdefault(name, {})[version] = hashlib.sha256(data).hexdigest()
    return digests


def build_git_repo(root: Path) -> str:
    """A bare repo served over dumb HTTP; returns the commit."""
    work = root.parent / "git-work"
    work.mkdir(parents=True, exist_ok=True)
    env = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "init.defaultBranch=main"]
    subprocess.run(["git", *env, "init", "-q", str(work)], check=True)
    for i in range(50):
        (work / f"plugin-{i}.zsh").write_text(f"# plugin {i}\n" + "x=1\n" * 200)
    subprocess.run(["git", *env, "-C", str(work), "add", "."], check=True)
    fixed = {"GIT_AUTHOR_DATE": "2025-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2025-01-01T00:00:00Z", "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", *env, "-C", str(work), "commit", "-q", "-m", "plugins"], check=True, env=fixed)
    bare = root / "plugins.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    subprocess.run(["git", "-C", str(bare), "update-server-info"], check=True)
    return subprocess.run(["git", "-C", str(bare), "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the bench prints its own progress
        pass


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def spec_text(base_url: str, digests: dict[str, dict[str, str]], commit: str, base_image: str) -> str:
    image, tag = base_image.rsplit(":", 1)
    lines = [
        "image:",
        "  name: sandbox-bench/ours",
        "  labels: {title: bench, description: bench, url: u, source: s, vendor: v, licenses: MIT}",
        "base:",
        f"  image: {image}",
        f"  tag: {tag}",
        "  packages: [ca-certificates, curl, git, sudo]",
        "  unpinned_reason: follows bookworm updates",
        "platforms: [linux/amd64]",
        "tools:",
        "  - {name: shell, method: apt, packages: [zsh, tini, jq, less], unpinned_reason: follows bookworm updates}",
    ]
    for name in RELEASES:
        lines += [
            f"  - name: {name}",
            "    method: release",
            '    version: "1.0.0"',
            f"    url: {base_url}/{name}/{{version}}/{{asset}}",
            f'    assets: {{amd64: "{name}-{{version}}-x86_64.tar.gz"}}',
            f'    binaries: [{{path: "{{stem}}/{name}", name: {name}}}]',
            f"    sha256: {{amd64: {digests[name]['1.0.0']}}}",
        ]
    lines += [
        "  - name: plugins",
        "    method: git",
        f"    url: {base_url}/plugins.git",
        f"    commit: {commit}",
        "    dest: ~/.local/share/plugins",
    ]
    return "\n".join(lines) + "\n"

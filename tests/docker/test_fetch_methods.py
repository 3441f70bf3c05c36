"""The methods that fetch a file in a RUN of their own (deb, script, rustup), built for real:
each step downloads through files/sandbox-fetch from a server on 127.0.0.1 and checks the
sha256, and a wrong digest fails the build with sandbox-fetch's message naming the download.

The deb and the installer script are real (a .deb made here with dpkg-deb, a shell script).
rustup-init is a stand-in: the real one would fetch a toolchain from static.rust-lang.org,
which this machine cannot reach. The stand-in records its arguments and writes the commands
rustup would put into ~/.cargo/bin, so the step around it (fetch, check, run, clean up) is
what is tested, not rustup.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.docker.client import DockerClient
from tests.docker.cli import docker_cli
from tests.integration.cli import sandbox
from tests.integration.servers import FileServer

# the integration spec's base, so that this build's base stage comes from its cache
from tests.integration.spec import _base, dump

USER = "fetcher"
HOME = f"/home/{USER}"
INSTALLER = b"""#!/bin/sh
set -eu
mkdir -p "$INSTALL_DIR"
printf '#!/bin/sh\\necho installed-by-script\\n' > "$INSTALL_DIR/from-script"
chmod 0755 "$INSTALL_DIR/from-script"
"""
#: the stand-in for rustup-init (see the module's docstring)
RUSTUP_INIT = b"""#!/bin/sh
set -eu
mkdir -p "$HOME/.cargo/bin"
printf '%s\\n' "$@" > "$HOME/.cargo/rustup-init-args"
for command in rustup rustc cargo; do
  printf '#!/bin/sh\\necho "%s stand-in"\\n' "$command" > "$HOME/.cargo/bin/$command"
  chmod 0755 "$HOME/.cargo/bin/$command"
done
"""


@dataclass
class Served:
    server: FileServer
    digests: dict[str, str]


def _deb(directory: Path) -> Path:
    root = directory / "deb-root"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: sandbox-fetched\nVersion: 1.0.0\nArchitecture: amd64\nMaintainer: tests <tests@example.invalid>\n"
        "Description: a package fetched by sandbox-fetch\n"
    )
    command = root / "usr" / "bin" / "fetched-deb"
    command.write_text("#!/bin/sh\necho installed-from-deb\n")
    command.chmod(0o755)
    out = directory / "demo_1.0.0_amd64.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(out)], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not shutil.which("dpkg-deb"):
        pytest.fail("dpkg-deb is missing (Debian's dpkg): it builds the .deb this test serves", pytrace=False)
    site = tmp_path_factory.mktemp("fetch-site")
    deb = _deb(tmp_path_factory.mktemp("deb"))
    (site / "debs").mkdir()
    shutil.copy(deb, site / "debs" / deb.name)
    (site / "install-1.0.0.sh").write_bytes(INSTALLER)
    init = site / "rustup" / "archive" / "1.29.0" / "x86_64-unknown-linux-gnu" / "rustup-init"
    init.parent.mkdir(parents=True)
    init.write_bytes(RUSTUP_INIT)
    digests = {
        "deb": hashlib.sha256(deb.read_bytes()).hexdigest(),
        "script": hashlib.sha256(INSTALLER).hexdigest(),
        "rustup": hashlib.sha256(RUSTUP_INIT).hexdigest(),
    }
    server = FileServer(site)
    yield Served(server, digests)
    server.stop()


def _spec(directory: Path, served: Served, base_image: str, tamper: str | None = None) -> Path:
    digests = dict(served.digests)
    if tamper:
        digests[tamper] = ("0" if digests[tamper][0] != "0" else "1") + digests[tamper][1:]
    url = served.server.url
    data = {
        "image": {
            "name": "local/sandbox-fetch-methods",
            "labels": {
                "title": "sandbox fetch methods test", "description": "deb, script and rustup through sandbox-fetch",
                "url": "https://example.invalid/sandbox", "source": "https://example.invalid/sandbox.git",
                "vendor": "opencode-sandbox tests", "licenses": "MIT",
            },
        },
        "base": _base(base_image),
        "platforms": ["linux/amd64"],
        "user": {"name": USER, "uid": 1000, "gid": 1000, "shell": "/bin/bash", "sudo": False},
        "path": ["~/.cargo/bin", "~/.local/bin"],
        "tools": [
            {"name": "init", "method": "apt", "packages": ["tini"],
             "unpinned_reason": "Debian bookworm's tini, as the CI mirror serves it"},
            {"name": "demo", "method": "deb", "version": "1.0.0", "url": url + "/debs/demo_{version}_{arch}.deb",
             "sha256": {"amd64": digests["deb"]}, "provides": ["fetched-deb"], "check": ["fetched-deb"]},
            {"name": "installer", "method": "script", "version": "1.0.0", "url": url + "/install-{version}.sh",
             "sha256": digests["script"], "runs_upstream_code": True, "env": {"INSTALL_DIR": f"{HOME}/.local/bin"},
             "provides": ["from-script"], "check": ["from-script"]},
            {"name": "rust", "method": "rustup", "version": "1.94.1", "rustup_version": "1.29.0",
             "archive": url + "/rustup/archive", "sha256": {"amd64": digests["rustup"]}},
        ],
    }  # fmt: skip
    path = directory / "sandbox.yaml"
    path.write_text(dump(data), encoding="utf-8")
    return path


def _build(spec: Path, tag: str) -> subprocess.CompletedProcess[str]:
    return sandbox("--spec", spec, "build", "--regenerate", "--network", "host", "--tag", tag, timeout=1200)


@pytest.fixture(scope="module")
def built(served: Served, base_image: str, docker_client: DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    spec = _spec(tmp_path_factory.mktemp("spec"), served, base_image)
    tag = f"local/sandbox-fetch-methods:{uuid.uuid4().hex[:12]}"
    result = _build(spec, tag)
    assert result.returncode == 0, f"build failed:\n{result.stdout}\n{result.stderr}"
    yield tag
    docker_cli(docker_client, ["image", "rm", "--force", tag], check=False)


def _in_image(client: DockerClient, tag: str, *command: str) -> str:
    return docker_cli(client, ["run", "--rm", "--entrypoint", command[0], tag, *command[1:]]).stdout


@pytest.mark.docker
def test_each_method_fetched_its_file_from_the_site_and_installed_it(built: str, served: Served, docker_client: DockerClient) -> None:
    assert _in_image(docker_client, built, "fetched-deb").strip() == "installed-from-deb"
    assert _in_image(docker_client, built, "from-script").strip() == "installed-by-script"
    assert _in_image(docker_client, built, "rustc").strip() == "rustc stand-in"
    args = _in_image(docker_client, built, "cat", f"{HOME}/.cargo/rustup-init-args").split()
    assert args[args.index("--default-host") + 1] == "x86_64-unknown-linux-gnu"
    assert {"/debs/demo_1.0.0_amd64.deb", "/install-1.0.0.sh", "/rustup/archive/1.29.0/x86_64-unknown-linux-gnu/rustup-init"} <= set(
        served.server.requests
    )
    # what was fetched for the run only is gone: the installer, rustup-init (a mktemp file)
    leftovers = _in_image(docker_client, built, "ls", "-A", "/tmp").split()
    assert [name for name in leftovers if name.startswith(("install-", "tmp."))] == []


@pytest.mark.docker
@pytest.mark.parametrize(
    ("tamper", "step", "message"),
    [
        ("deb", r"\[deb-demo 1/1\] RUN case", "sandbox: sha256 mismatch for demo (amd64)"),
        (
            "script",
            r"\[sandbox \d+/\d+\] RUN sandbox-fetch 'the installer installer'",
            "sandbox: sha256 mismatch for the installer installer",
        ),
        ("rustup", r"\[sandbox \d+/\d+\] RUN case", "sandbox: sha256 mismatch for rustup-init (x86_64-unknown-linux-gnu)"),
    ],
)
def test_a_wrong_digest_fails_the_build_naming_the_download(
    built: str, served: Served, base_image: str, tmp_path: Path, tamper: str, step: str, message: str
) -> None:
    # after `built`, so the steps before the tampered one come from the cache
    spec = _spec(tmp_path, served, base_image, tamper=tamper)
    result = _build(spec, f"local/sandbox-fetch-methods-tampered:{uuid.uuid4().hex[:12]}")
    assert result.returncode == 3, result.stdout + result.stderr
    assert re.search(rf"failing step: {step}", result.stderr), result.stderr
    assert message in result.stderr

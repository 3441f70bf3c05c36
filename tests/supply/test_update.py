"""`sandbox update`: only version values change in a heavily commented spec, then the lock."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from generator.errors import SpecError
from generator.lockfile import Lock
from generator.supply.update import bump

from .upstream_specs import commented_spec, serve_checksum_files, serve_sources

DATA = Path(__file__).parent / "data"

#: new release artifacts the re-lock after the update fetches
NEW_ASSETS = [
    "/BurntSushi/ripgrep/releases/download/15.2.0/ripgrep-15.2.0-x86_64-unknown-linux-musl.tar.gz",
    "/BurntSushi/ripgrep/releases/download/15.2.0/ripgrep-15.2.0-aarch64-unknown-linux-gnu.tar.gz",
    "/krallin/tini/releases/download/v0.19.0/tini-static-amd64",
    "/krallin/tini/releases/download/v0.19.0/tini-static-arm64",
    "/jdx/mise/releases/download/v2024.3.0/mise-v2024.3.0-linux-x64.tar.gz",
    "/jdx/mise/releases/download/v2024.3.0/mise-v2024.3.0-linux-arm64.tar.gz",
    "/astral-sh/uv/releases/download/0.2.0/uv-x86_64-unknown-linux-musl.tar.gz",
    "/astral-sh/uv/releases/download/0.2.0/uv-aarch64-unknown-linux-musl.tar.gz",
    "/example/installer/releases/download/v1.1.0/install.sh",
]


def _expected(server) -> str:
    return (DATA / "commented.expected.yaml").read_text(encoding="utf-8").replace("@UPSTREAM@", server.base)


def test_update_changes_only_version_values_and_relocks(tmp_path, upstream, sandbox):
    serve_sources(upstream)
    served = {path: upstream.artifact("github", path, f"bytes of {path}".encode()) for path in NEW_ASSETS}
    serve_checksum_files(upstream, served)
    spec = commented_spec(upstream, tmp_path)
    before = spec.read_text()

    result = sandbox(spec, "update")

    assert result.returncode == 0, result.stderr
    after = spec.read_text()
    assert after == _expected(upstream)
    # independently of the golden file: every changed line is a version line
    changed = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]
    assert len(changed) == 24
    assert all("version: " in line for line in changed)
    # the re-lock recorded what the fake served for the new versions, and nothing else
    lock = Lock.read(tmp_path / "sandbox.lock")
    locked = {e.url.removeprefix(upstream.url("github", "")): e.sha256 for t in lock.artifacts.values() for e in t.values()}
    assert locked == served
    assert lock.images == {}
    assert "uv: sandbox.yaml still pins the sha256 of 0.1.0" in result.stderr
    # the updated spec with its fresh lock is consistent: generate, then check passes
    assert sandbox(spec, "generate").returncode == 0
    assert sandbox(spec, "check").returncode == 0


def test_dry_run_prints_the_diff_and_writes_nothing(tmp_path, upstream, sandbox):
    serve_sources(upstream)
    spec = commented_spec(upstream, tmp_path)
    before = spec.read_bytes()

    result = sandbox(spec, "update", "--dry-run", "ripgrep", "ruff")

    assert result.returncode == 0, result.stderr
    assert spec.read_bytes() == before
    assert not (tmp_path / "sandbox.lock").exists()
    diff_lines = [line for line in result.stdout.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert diff_lines == [
        '-    version: "15.1.0"     # bumped by sandbox update',
        '+    version: "15.2.0"     # bumped by sandbox update',
        "-  - {name: ruff, method: uv, version: 0.4.0}    # flow mapping, comment after",
        "+  - {name: ruff, method: uv, version: 0.4.5}    # flow mapping, comment after",
    ]
    assert "2 tool(s) would change; nothing was written" in result.stdout
    # the release downloads were not touched
    assert upstream.asked("/releases/download/") == []


def test_min_age_skips_releases_that_are_too_new(tmp_path, upstream, sandbox):
    serve_sources(upstream)
    spec = commented_spec(upstream, tmp_path)

    result = sandbox(spec, "update", "--dry-run", "--min-age", "7d", "mise", "prettier", "go-toolchain", "node")

    assert result.returncode == 0, result.stderr
    assert '+    version: "2024.2.0"' in result.stdout  # v2024.3.0 is 2 days old
    assert "+    version: 3.2.0" in result.stdout  # 8 days old: old enough
    assert "+    version: 20.12.2  # plain scalar, no quotes" in result.stdout  # 21.1.0 is 5 days old
    # the Go release index publishes no dates: with --min-age nothing from it qualifies
    assert "go-toolchain: upstream gives no release dates" in result.stderr
    assert "1.23.0" not in result.stdout


def test_an_update_whose_upstreams_all_failed_does_not_say_everything_is_up_to_date(tmp_path, upstream, sandbox):
    serve_sources(upstream)
    upstream.serve("/crates/api/v1/crates/tokei", b"down", status=502)
    spec = commented_spec(upstream, tmp_path)
    text = spec.read_text()

    result = sandbox(spec, "update", "--no-lock", "tokei")

    assert result.returncode == 3
    assert "up to date" not in result.stdout
    assert result.stdout == "no update from the upstreams that answered; nothing was written\n"
    assert "1 upstream(s) could not be asked: tokei" in result.stderr
    assert spec.read_text() == text


def test_update_of_an_up_to_date_tool_changes_nothing(tmp_path, upstream, sandbox):
    serve_sources(upstream)
    spec = commented_spec(upstream, tmp_path)
    first = sandbox(spec, "update", "--no-lock", "tokei")
    assert first.returncode == 0, first.stderr
    text = spec.read_text()

    again = sandbox(spec, "update", "--no-lock", "tokei")

    assert again.returncode == 0
    assert "everything is up to date" in again.stdout
    assert spec.read_text() == text


def test_base_tag_changes_only_when_named(tmp_path, upstream, sandbox):
    serve_sources(upstream)
    spec = commented_spec(upstream, tmp_path)
    everything = sandbox(spec, "update", "--dry-run")
    assert '"24.04"' not in everything.stdout

    named = sandbox(spec, "update", "--dry-run", "base")

    assert named.returncode == 0, named.stderr
    assert '-  tag: "24.04"            # LTS' in named.stdout
    assert '+  tag: "24.10"            # LTS' in named.stdout


def test_bump_quotes_a_plain_value_that_would_read_as_a_number():
    text = "tools:\n  - name: a\n    method: npm\n    version: 1.2.3   # c\n"
    assert bump(text, "s.yaml", {"a": "1.20"}) == 'tools:\n  - name: a\n    method: npm\n    version: "1.20"   # c\n'


def test_bump_refuses_a_version_it_cannot_find_on_one_line():
    text = "tools:\n  - name: a\n    method: npm\n    version: >-\n      1.2.3\n"
    with pytest.raises(Exception, match="cannot find the value"):
        bump(text, "s.yaml", {"a": "1.2.4"})


def test_an_update_that_breaks_the_spec_is_not_written(tmp_path, upstream, sandbox):
    # a version YAML would misread is quoted, but a version the spec refuses stays refused
    from generator.supply.update import apply

    text = "image: {name: a, labels: {title: t, description: d, url: u, source: s, vendor: v, licenses: l}}\n"
    text += "base: {image: ubuntu, tag: '24.04'}\ntools:\n  - {name: tini, method: apt, packages: [tini, zsh], unpinned_reason: distro}\n"
    text += "  - {name: n, method: npm, version: 1.0.0}\n"
    with pytest.raises(SpecError) as caught:
        apply(text, "s.yaml", {"n": "latest"})
    assert "s.yaml:5:" in str(caught.value)


def test_a_failing_upstream_does_not_stop_the_others_but_sets_the_exit_code(tmp_path, upstream, sandbox):
    serve_sources(upstream)
    upstream.serve("/crates/api/v1/crates/tokei", b"down", status=502)
    spec = commented_spec(upstream, tmp_path)
    changelog = tmp_path / "changes.md"

    result = sandbox(spec, "update", "--no-lock", "--changelog", str(changelog), "tokei", "ruff")

    assert result.returncode == 3
    assert "skipped  tokei:" in result.stderr and "HTTP 502" in result.stderr
    text = spec.read_text()
    assert "version: 0.4.5}" in text and 'version: "12.1.2"' in text
    assert changelog.read_text().splitlines() == [
        "| tool | from | to | source | release |",
        "|---|---|---|---|---|",
        f"| ruff | 0.4.0 | 0.4.5 | pypi:ruff | `{upstream.base}/pypi-host/project/ruff/0.4.5/` |",
    ]

"""Git tools pinned to a commit: `outdated` shows their branch head, `update` pins it (adding
the commit: line if there is none, and nothing else), `audit` lists a disabled unpinned one."""

from __future__ import annotations

import difflib
import json
import time
from pathlib import Path

import pytest

from generator.errors import UsageError
from generator.supply.update import bump

from .upstream_specs import commented_spec, iso

DATA = Path(__file__).parent / "data"

OMZ_HEAD = "3c0e6a5f2b1d9e8c7a6b5c4d3e2f1a0b9c8d7e6f"
OMZ_OLDER = "4d1f7b6a3c2e0f9d8b7c6d5e4f3a2b1c0d9e8f70"
PLUGINS_OLD = "1111111111111111111111111111111111111111"
PLUGINS_MID = "5e2a8c7b4d3f1a0e9c8d7e6f5a4b3c2d1e0f9a81"
PLUGINS_NEW = "6f3b9d8c5e4a2b1f0d9e8f7a6b5c4d3e2f1a0b92"


def _git_spec(server, directory: Path) -> Path:
    return commented_spec(server, directory, "git.yaml")


def _serve(server, omz_days=(3, 40), plugins_days=(2, 20, 300)) -> None:
    server.github_commits("ohmyzsh/ohmyzsh", [(OMZ_HEAD, iso(omz_days[0])), (OMZ_OLDER, iso(omz_days[1]))])
    # plugins names no branch: its default branch comes from the repository record
    server.github_commits(
        "example/plugins",
        [(PLUGINS_NEW, iso(plugins_days[0])), (PLUGINS_MID, iso(plugins_days[1])), (PLUGINS_OLD, iso(plugins_days[2]))],
        branch="trunk",
    )


def _changed(before: str, after: str) -> list[str]:
    return [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]


def test_outdated_shows_the_branch_head_of_each_github_git_tool(tmp_path, upstream, sandbox):
    _serve(upstream)
    spec = _git_spec(upstream, tmp_path)

    result = sandbox(spec, "outdated", "--format", "json", "oh-my-zsh", "plugins", "elsewhere")

    assert result.returncode == 0, result.stderr  # a non-GitHub repository is a note, not a failure
    rows = {row["tool"]: row for row in json.loads(result.stdout)}
    omz = rows["oh-my-zsh"]  # listed although disabled: it is disabled for want of a commit
    assert (omz["current"], omz["latest"], omz["update"]) == ("unpinned", OMZ_HEAD, OMZ_HEAD)
    assert omz["source"] == "github:ohmyzsh/ohmyzsh"
    assert (omz["published"], omz["age"]) == (iso(3), "3d")
    assert "disabled" in omz["note"]
    plugins = rows["plugins"]
    assert (plugins["current"], plugins["latest"], plugins["update"]) == (PLUGINS_OLD, PLUGINS_NEW, PLUGINS_NEW)
    assert upstream.asked("/api/repos/example/plugins/commits/trunk")  # the default branch, as the API named it
    assert upstream.asked(f"/api/repos/example/plugins/compare/{PLUGINS_OLD}...{PLUGINS_NEW}")
    elsewhere = rows["elsewhere"]
    assert (elsewhere["source"], elsewhere["latest"], elsewhere["update"]) == ("-", None, None)
    assert "not a GitHub repository" in elsewhere["note"] and "ls-remote" in elsewhere["note"]
    # the branch comes from the spec; no repository record is needed for it
    assert [r.path for r in upstream.asked("/api/repos/ohmyzsh/ohmyzsh")] == ["/api/repos/ohmyzsh/ohmyzsh/commits/master"]


def test_outdated_table_shows_short_commits_and_the_head_date(tmp_path, upstream, sandbox):
    _serve(upstream)
    spec = _git_spec(upstream, tmp_path)

    result = sandbox(spec, "outdated", "oh-my-zsh", "elsewhere")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split()[:7] == ["oh-my-zsh", "unpinned", OMZ_HEAD[:12], f"({iso(3)[:10]})", "*", "github:ohmyzsh/ohmyzsh", "3d"]
    assert lines[2].split()[:4] == ["elsewhere", "2222222222222222222222222222222222222abc"[:12], "?", "-"]


def test_update_adds_the_commit_line_to_a_disabled_tool_and_nothing_else(tmp_path, upstream, sandbox):
    _serve(upstream)
    spec = _git_spec(upstream, tmp_path)
    before = spec.read_text()
    changelog = tmp_path / "changes.md"

    result = sandbox(spec, "update", "--changelog", str(changelog), "oh-my-zsh")

    assert result.returncode == 0, result.stderr
    after = spec.read_text()
    expected = (DATA / "git.expected.yaml").read_text().replace("@UPSTREAM@", upstream.base)
    assert after == expected
    # independently of the golden file: one line added, right after url:, same indentation
    assert _changed(before, after) == [f"+     commit: {OMZ_HEAD}"]
    lines = after.splitlines()
    url_at = next(i for i, line in enumerate(lines) if "/gh/ohmyzsh/ohmyzsh.git" in line)
    assert lines[url_at + 1] == f"    commit: {OMZ_HEAD}"
    assert "enabled: false" in after  # pinned, still disabled: enabling is a maintainer's call
    assert f"updated  oh-my-zsh unpinned -> {OMZ_HEAD[:12]}" in result.stdout
    text = changelog.read_text()
    assert f"| oh-my-zsh | unpinned | {OMZ_HEAD[:12]} | github:ohmyzsh/ohmyzsh |" in text
    assert "oh-my-zsh is disabled** and now has a pinned commit" in text and "enabled: true" in text
    # now pinned, it is no longer an exception: a maintainer can enable it as it stands
    audit = {f["subject"]: f for f in json.loads(sandbox(spec, "audit", "--format", "json").stdout)}
    assert "oh-my-zsh" not in audit


def test_update_moves_an_existing_commit_and_its_date_label(tmp_path, upstream, sandbox):
    _serve(upstream)
    spec = _git_spec(upstream, tmp_path)
    before = spec.read_text()

    result = sandbox(spec, "update", "plugins")

    assert result.returncode == 0, result.stderr
    after = spec.read_text()
    assert _changed(before, after) == [
        f'-     commit: "{PLUGINS_OLD}"   # pinned by hand',
        f'+     commit: "{PLUGINS_NEW}"   # pinned by hand',
        '-     version: "2024-01-10"   # the commit\'s date, kept in step',
        f'+     version: "{iso(2)[:10]}"   # the commit\'s date, kept in step',
    ]
    assert f"updated  plugins {PLUGINS_OLD[:12]} -> {PLUGINS_NEW[:12]}" in result.stdout
    # the updated spec still generates and checks (the commit reaches the Dockerfile)
    assert sandbox(spec, "generate").returncode == 0
    assert PLUGINS_NEW in (tmp_path / "Dockerfile").read_text()
    again = sandbox(spec, "update", "plugins")
    assert again.returncode == 0 and "everything is up to date" in again.stdout
    assert spec.read_text() == after


def test_min_age_pins_the_newest_commit_old_enough_and_skips_younger_ones(tmp_path, upstream, sandbox):
    _serve(upstream, omz_days=(1, 10), plugins_days=(2, 5, 300))
    spec = _git_spec(upstream, tmp_path)

    result = sandbox(spec, "update", "--dry-run", "--min-age", "7d", "oh-my-zsh", "plugins")

    assert result.returncode == 0, result.stderr
    added = [line for line in result.stdout.splitlines() if line.startswith("+ ")]
    # the head (1 day old) is skipped for the newest commit on master that is at least 7 days old
    assert added == [f"+    commit: {OMZ_OLDER}"]
    assert OMZ_HEAD not in result.stdout
    listing = upstream.asked("/api/repos/ohmyzsh/ohmyzsh/commits?")
    assert listing and "sha=master" in listing[0].path and "until=" in listing[0].path
    # plugins: both newer commits are younger than 7 days; the pin stays
    assert "skipped  plugins: head of trunk is younger than --min-age; the pinned commit is the newest old enough" in result.stderr


def test_min_age_with_no_commit_old_enough_changes_nothing(tmp_path, upstream, sandbox):
    _serve(upstream, omz_days=(1, 2))
    spec = _git_spec(upstream, tmp_path)
    before = spec.read_bytes()

    result = sandbox(spec, "update", "--min-age", "7d", "oh-my-zsh")

    assert result.returncode == 0, result.stderr
    assert "skipped  oh-my-zsh: no commit on master is older than --min-age" in result.stderr
    assert "everything is up to date" in result.stdout
    assert spec.read_bytes() == before


def test_a_pin_newer_than_the_eligible_commit_is_not_moved_back(tmp_path, upstream, sandbox):
    # plugins is pinned to its oldest commit here; history says the pin is newer than what min-age allows
    upstream.github_commits("example/plugins", [(PLUGINS_NEW, iso(1)), (PLUGINS_OLD, iso(3)), (PLUGINS_MID, iso(30))], branch="trunk")
    spec = _git_spec(upstream, tmp_path)

    result = sandbox(spec, "update", "--dry-run", "--min-age", "7d", "plugins")

    assert result.returncode == 0, result.stderr
    assert "+ " not in result.stdout and "everything is up to date" in result.stdout
    assert f"the pinned commit is newer than {PLUGINS_MID[:12]} on trunk; not moved back" in result.stderr


def test_commits_rate_limit_names_the_reset_and_the_token(tmp_path, upstream, sandbox):
    _serve(upstream)
    upstream.serve(
        "/api/repos/ohmyzsh/ohmyzsh/commits/master",
        b'{"message": "API rate limit exceeded"}',
        status=403,
        headers={"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 600)},
    )
    spec = _git_spec(upstream, tmp_path)
    before = spec.read_bytes()

    result = sandbox(spec, "update", "oh-my-zsh")

    assert result.returncode == 3
    assert "rate limit reached" in result.stderr and "set GITHUB_TOKEN" in result.stderr
    assert spec.read_bytes() == before


def test_github_token_is_sent_to_the_commits_api(tmp_path, upstream, sandbox, monkeypatch):
    _serve(upstream)
    monkeypatch.setenv("GITHUB_TOKEN", "secret-token")
    spec = _git_spec(upstream, tmp_path)

    assert sandbox(spec, "outdated", "oh-my-zsh", "plugins").returncode == 0

    asked = upstream.asked("/api/repos/")
    assert len(asked) >= 4 and all(r.headers.get("Authorization") == "Bearer secret-token" for r in asked)


def test_audit_lists_a_disabled_tool_that_would_fetch_an_unpinned_checkout(tmp_path, upstream, sandbox):
    spec = _git_spec(upstream, tmp_path)

    result = sandbox(spec, "audit", "--format", "json")

    assert result.returncode == 0
    found = {(f["subject"], f["kind"]): f["reason"] for f in json.loads(result.stdout)}
    assert found[("oh-my-zsh", "disabled-unpinned")] == (
        "disabled: needs a pinned 40-hex commit; the weekly update pins it; if enabled: no commit pinned"
    )
    # pinned git tools are verified by their commit: not exceptions
    assert not [key for key in found if key[0] in ("plugins", "elsewhere")]
    assert sandbox(spec, "audit", "--strict").returncode == 1


def test_bump_quotes_an_inserted_commit_that_would_read_as_a_number():
    text = "tools:\n  - name: g\n    method: git\n    url: https://example.com/g.git\n    dest: /opt/g\n"
    digits = "1" * 40
    new = bump(text, "s.yaml", {"g": {"commit": digits}})
    assert new == text.replace("g.git\n", f'g.git\n    commit: "{digits}"\n')


def test_bump_inserts_after_a_url_that_is_the_last_line_without_a_newline():
    text = "tools:\n  - name: g\n    method: git\n    dest: /opt/g\n    url: https://example.com/g.git"
    digits = "1" * 40
    assert bump(text, "s.yaml", {"g": {"commit": digits}}) == text + f'\n    commit: "{digits}"\n'


def test_bump_keeps_crlf_line_endings_when_inserting():
    text = "tools:\r\n  - name: g\r\n    url: https://example.com/g.git  # x\r\n    dest: /opt/g\r\n"
    new = bump(text, "s.yaml", {"g": {"commit": "a" * 40}})
    assert new == text.replace("# x\r\n", f"# x\r\n    commit: {'a' * 40}\r\n")


def test_bump_refuses_to_insert_into_a_flow_mapping():
    text = "tools:\n  - {name: g, method: git, url: 'https://example.com/g.git', dest: /opt/g}\n"
    with pytest.raises(UsageError, match=r"s.yaml:2:.*g: cannot add 'commit' here.*add it by hand"):
        bump(text, "s.yaml", {"g": {"commit": "a" * 40}})


def test_the_default_spec_gets_oh_my_zsh_moved_by_one_changed_line(tmp_path, upstream, sandbox):
    root = Path(__file__).resolve().parents[2]
    spec = tmp_path / "sandbox.yaml"
    spec.write_bytes((root / "sandbox.yaml").read_bytes())
    before = spec.read_text()
    pinned = next(line.split(":", 1)[1].strip() for line in before.splitlines() if line.startswith("    commit: "))
    # a branch on which the spec's pin is an older commit than the head
    upstream.github_commits("ohmyzsh/ohmyzsh", [(OMZ_HEAD, iso(3)), (pinned, iso(40))])

    # the spec's URL is on github.com; only the API (the fake) is asked, so nothing leaves 127.0.0.1
    result = sandbox(spec, "update", "--no-lock", "--upstream", "github=https://github.com", "oh-my-zsh")

    assert result.returncode == 0, result.stderr
    assert _changed(before, spec.read_text()) == [f"-     commit: {pinned}", f"+     commit: {OMZ_HEAD}"]
    assert all(r.path.startswith("/api/repos/ohmyzsh/ohmyzsh/") for r in upstream.requests)
    assert "disabled" not in result.stderr


def test_a_version_label_that_is_not_a_date_is_left_alone_and_flagged(tmp_path, upstream, sandbox):
    _serve(upstream)
    spec = _git_spec(upstream, tmp_path)
    spec.write_text(spec.read_text().replace('version: "2024-01-10"', "version: r42-custom"))
    before = spec.read_text()

    result = sandbox(spec, "update", "plugins")

    assert result.returncode == 0, result.stderr
    assert [line[:10] for line in _changed(before, spec.read_text())] == ["-     comm", "+     comm"]
    assert "version 'r42-custom' is left as it is; check that it still describes the new commit" in result.stderr

"""`sandbox outdated` against every kind of upstream, and what a rate limit looks like."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone

import pytest

from .upstream_specs import commented_spec, serve_checksum_files, serve_sources


def _rows(result) -> dict[str, dict]:
    return {row["tool"]: row for row in json.loads(result.stdout)}


def test_outdated_asks_each_upstream_and_skips_unstable_releases(tmp_path, upstream, sandbox):
    serve_sources(upstream)
    spec = commented_spec(upstream, tmp_path)

    result = sandbox(spec, "outdated", "--format", "json")

    assert result.returncode == 0, result.stderr
    rows = _rows(result)
    latest = {name: row["latest"] for name, row in rows.items()}
    assert latest == {
        "base": "24.10",
        "ripgrep": "15.2.0",  # 16.0.0 is a pre-release, 15.3.0 a draft
        "tini-bin": "v0.19.0",  # the spec's own "v" is kept
        "mise": "2024.3.0",  # the tag's "v" is not the spec's
        "uv": "0.2.0",
        "node": "21.1.0",
        "python": "3.13",  # partial stays partial; 3.14.0b1 is a pre-release
        "go-toolchain": "1.23.0",  # go1.24rc1 is not stable
        "prettier": "3.2.0",  # 3.3.0 is only on the "next" dist-tag
        "ruff": "0.4.5",  # 0.5.0 was yanked
        "tokei": "12.1.3",  # 12.2.0 yanked, 13.0.0-alpha.1 a pre-release
        "shfmt": "v3.8.0",  # module found by walking up the package path
        "installer": "1.1.0",
    }
    assert {name: row["source"] for name, row in rows.items() if name in ("ripgrep", "ruff", "tokei", "shfmt")} == {
        "ripgrep": "github:BurntSushi/ripgrep",
        "ruff": "pypi:ruff",
        "tokei": "crates:tokei",
        "shfmt": "goproxy:mvdan.cc/sh/v3/cmd/shfmt",
    }
    assert rows["ripgrep"]["age"] == "30d"
    assert rows["shfmt"]["age"] == "33d"  # from the module proxy's .info
    assert rows["go-toolchain"]["age"] == "-"  # the Go index has no dates
    assert rows["tokei"]["update"] == "12.1.3"
    # apt tools have no version to compare; they are not rows
    assert "shell" not in rows


def test_outdated_table(tmp_path, upstream, sandbox):
    serve_sources(upstream)
    spec = commented_spec(upstream, tmp_path)

    result = sandbox(spec, "outdated", "ripgrep", "ruff")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["tool", "current", "latest", "source", "age", "note"]
    assert lines[1].split() == ["ripgrep", "15.1.0", "15.2.0", "*", "github:BurntSushi/ripgrep", "30d"]
    assert lines[2].split() == ["ruff", "0.4.0", "0.4.5", "*", "pypi:ruff", "11d"]
    assert lines[3] == "* an update is available (`sandbox update TOOL`)"
    assert len(lines) == 4


def test_outdated_table_in_markdown(tmp_path, upstream, sandbox):
    serve_sources(upstream)
    spec = commented_spec(upstream, tmp_path)

    result = sandbox(spec, "outdated", "ripgrep", "ruff", "--format", "markdown")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "| tool | current | latest | source | age | note |",
        "|---|---|---|---|---|---|",
        "| ripgrep | 15.1.0 | 15.2.0 * | github:BurntSushi/ripgrep | 30d |  |",
        "| ruff | 0.4.0 | 0.4.5 * | pypi:ruff | 11d |  |",
        "",
        "\\* an update is available (`sandbox update TOOL`)",
    ]


def test_outdated_table_without_updates_has_no_footnote_for_a_mark_it_does_not_show(tmp_path, upstream, sandbox):
    serve_sources(upstream)
    upstream.serve("/crates/api/v1/crates/tokei", b"down", status=502)
    spec = commented_spec(upstream, tmp_path)

    result = sandbox(spec, "outdated", "tokei")

    assert result.returncode == 3
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["tool", "current", "latest", "source", "age", "note"]
    assert lines[1].startswith("tokei ")
    assert "*" not in result.stdout
    assert len(lines) == 2


def test_a_failing_upstream_is_reported_in_its_row_and_exits_3(tmp_path, upstream, sandbox):
    serve_sources(upstream)
    upstream.serve("/crates/api/v1/crates/tokei", b"busy", status=503)
    spec = commented_spec(upstream, tmp_path)

    result = sandbox(spec, "outdated", "--format", "json", "tokei", "ruff")

    assert result.returncode == 3
    rows = _rows(result)
    assert "HTTP 503" in rows["tokei"]["note"]
    assert rows["ruff"]["latest"] == "0.4.5"
    assert "1 upstream(s) could not be asked: tokei" in result.stderr


def test_github_rate_limit_says_when_and_how_to_avoid_it(tmp_path, upstream, sandbox):
    serve_sources(upstream)
    reset = int(time.time()) + 25 * 60
    upstream.serve(
        "/api/repos/BurntSushi/ripgrep/releases?per_page=100",
        b'{"message": "API rate limit exceeded"}',
        status=403,
        headers={"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    spec = commented_spec(upstream, tmp_path)

    before = time.time()
    result = sandbox(spec, "outdated", "ripgrep")
    after = time.time()

    assert result.returncode == 3
    assert "rate limit reached" in result.stderr
    assert "(limit 60 requests per hour)" in result.stderr
    # the reset the header names, and the minutes left from when the command ran: whatever
    # moment between the two readings it took as now (however slow the machine is)
    stated = re.search(r"it resets at (\d\d:\d\d) UTC \(in about (\d+) min\)", result.stderr)
    assert stated, result.stderr
    assert stated[1] == f"{datetime.fromtimestamp(reset, tz=timezone.utc):%H:%M}"
    assert round((reset - after) / 60) <= int(stated[2]) <= round((reset - before) / 60)
    assert "set GITHUB_TOKEN" in result.stderr


def test_too_many_requests_with_retry_after(tmp_path, upstream, sandbox):
    serve_sources(upstream)
    upstream.serve("/npm/prettier", b"slow down", status=429, headers={"Retry-After": "120"})
    spec = commented_spec(upstream, tmp_path)

    result = sandbox(spec, "update", "--dry-run", "prettier")

    assert result.returncode == 3
    assert "rate limit reached" in result.stderr and "retry after 120 s" in result.stderr
    assert "GITHUB_TOKEN" not in result.stderr  # not a GitHub API: the token would not help


def test_github_token_goes_to_the_github_api_only(tmp_path, upstream, sandbox, monkeypatch):
    serve_sources(upstream)
    served = {
        path: upstream.artifact("github", path, data)
        for path, data in (
            ("/BurntSushi/ripgrep/releases/download/15.2.0/ripgrep-15.2.0-x86_64-unknown-linux-musl.tar.gz", b"a"),
            ("/BurntSushi/ripgrep/releases/download/15.2.0/ripgrep-15.2.0-aarch64-unknown-linux-gnu.tar.gz", b"b"),
        )
    }
    serve_checksum_files(upstream, served)
    monkeypatch.setenv("GITHUB_TOKEN", "secret-token")
    spec = commented_spec(upstream, tmp_path)

    result = sandbox(spec, "update", "ripgrep", "ruff")

    assert result.returncode == 0, result.stderr
    api = upstream.asked("/api/repos/")
    assert api and all(r.headers.get("Authorization") == "Bearer secret-token" for r in api)
    others = [r for r in upstream.requests if not r.path.startswith("/api/")]
    assert others and not any("secret-token" in str(r.headers) for r in others)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-RateLimit-Reset": "9" * 40, "X-RateLimit-Limit": "9" * 40},
        {"X-RateLimit-Reset": "٣٣", "Retry-After": "１２", "X-RateLimit-Limit": "6\x1b[2J0"},
        {"X-RateLimit-Reset": "253402300800", "Retry-After": "9" * 30},
    ],
    ids=["huge", "non-ascii-digits", "past-what-a-datetime-holds"],
)
def test_a_hostile_rate_limit_header_is_not_a_traceback_and_not_echoed(headers: dict[str, str]) -> None:
    from email.message import Message

    from generator.supply.fetch import _rate_limit_message

    message = Message()
    for key, value in headers.items():
        message[key] = value
    text = _rate_limit_message("https://api.github.com/x", 403, message, token_hint=False)
    assert text == "rate limit reached: https://api.github.com/x answered HTTP 403"

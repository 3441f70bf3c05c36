"""A release tool whose new versions are listed on npm (`watch: {npm: PACKAGE}`): opencode's
GitHub releases and its npm packages carry the same version numbers, and npm is the channel
that can be asked where GitHub cannot. `outdated` and `update` ask the npm registry (the
fake one on 127.0.0.1), never GitHub's API; the download still follows `url`."""

from __future__ import annotations

import json

import pytest

from tests.integration.small_specs import fields, problems, spec_data

from .upstream_specs import iso, release_tool, serve_release, write_spec

#: what the registry answers for opencode-ai: a newer stable release, one only on another
#: dist-tag, a pre-release and a deprecated one (none of those three may be chosen)
_OPENCODE_AI = {
    "dist-tags": {"latest": "1.18.33", "beta": "1.19.0"},
    "versions": {"1.18.21": {}, "1.18.33": {}, "1.18.34": {"deprecated": "broken"}, "1.19.0": {}, "2.0.0-beta.1": {}},
    "time": {"1.18.21": iso(100), "1.18.33": iso(20), "1.18.34": iso(5), "1.19.0": iso(3), "2.0.0-beta.1": iso(2)},
}


def _opencode(upstream, **extra):
    return release_tool(upstream, "opencode", "1.18.21", watch={"npm": "opencode-ai"}, **extra)


def test_outdated_asks_the_npm_package_a_release_tool_watches_and_not_github(tmp_path, upstream, sandbox):
    upstream.serve_json("/npm/opencode-ai", _OPENCODE_AI)
    spec = write_spec(tmp_path, _opencode(upstream))

    result = sandbox(spec, "outdated", "--format", "json", "opencode")

    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert (row["tool"], row["current"], row["latest"], row["source"]) == ("opencode", "1.18.21", "1.18.33", "npm:opencode-ai")
    assert row["update"] == "1.18.33"
    assert row["age"] == "20d"
    assert upstream.asked("/npm/opencode-ai")
    assert not upstream.asked("/api/repos/")


def test_a_scoped_npm_package_is_asked_by_its_escaped_name(tmp_path, upstream, sandbox):
    upstream.serve_json("/npm/@opencode%2fcli", {"dist-tags": {"latest": "2.1.2"}, "versions": {"2.1.2": {}}})
    spec = write_spec(tmp_path, release_tool(upstream, "opencode", "1.18.21", watch={"npm": "@opencode/cli"}))

    result = sandbox(spec, "outdated", "--format", "json", "opencode")

    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert (row["latest"], row["source"]) == ("2.1.2", "npm:@opencode/cli")


def test_without_watch_a_release_tool_still_asks_github_releases(tmp_path, upstream, sandbox):
    upstream.github_releases("owner/opencode", [{"tag_name": "1.18.30", "published_at": iso(9)}])
    upstream.serve_json("/npm/opencode-ai", _OPENCODE_AI)
    spec = write_spec(tmp_path, release_tool(upstream, "opencode", "1.18.21"))

    result = sandbox(spec, "outdated", "--format", "json", "opencode")

    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert (row["latest"], row["source"]) == ("1.18.30", "github:owner/opencode")
    assert not upstream.asked("/npm/")


def test_update_moves_a_watched_release_tool_to_the_npm_version_and_locks_its_download(tmp_path, upstream, sandbox):
    upstream.serve_json("/npm/opencode-ai", _OPENCODE_AI)
    digests = serve_release(upstream, "opencode", "1.18.33")
    spec = write_spec(tmp_path, _opencode(upstream))

    result = sandbox(spec, "update", "opencode")

    assert result.returncode == 0, result.stderr
    assert 'version: "1.18.33"' in spec.read_text() or "version: 1.18.33" in spec.read_text()
    lock = (tmp_path / "sandbox.lock").read_text()
    assert digests["amd64"] in lock and digests["arm64"] in lock
    # the download came from the release URL; no GitHub API listing was asked
    assert upstream.asked("/owner/opencode/releases/download/1.18.33/")
    assert not upstream.asked("/api/repos/")


def test_a_failing_npm_registry_is_that_tools_failure(tmp_path, upstream, sandbox):
    upstream.serve("/npm/opencode-ai", b"down", status=502)
    spec = write_spec(tmp_path, _opencode(upstream))

    result = sandbox(spec, "outdated", "opencode")

    assert result.returncode == 3
    assert "could not be asked: opencode" in result.stderr
    assert "/npm/opencode-ai: HTTP 502" in result.stdout


@pytest.mark.parametrize(
    ("watch", "field", "words"),
    [
        # only npm can be watched so far: another registry is an unknown key, and npm is then missing
        ({"pypi": "opencode"}, "tools[1].watch.pypi", "unknown key 'pypi'; expected one of: npm"),
        ({}, "tools[1].watch", "required field is missing"),
        ({"npm": "Opencode AI"}, "tools[1].watch.npm", "npm package name"),
        ({"npm": "opencode-ai; curl evil"}, "tools[1].watch.npm", "npm package name"),
        ("opencode-ai", "tools[1].watch", "expected a mapping"),
    ],
)
def test_watch_is_validated(watch, field, words):
    data = spec_data({"name": "opencode", "method": "release", "version": "1.18.21",
                      "url": "https://github.com/anomalyco/opencode/releases/download/v{version}/{asset}",
                      "assets": {"amd64": "opencode-linux-x64.tar.gz", "arm64": "opencode-linux-arm64.tar.gz"},
                      "binaries": [{"path": "opencode", "name": "opencode"}],
                      "unverified": "test", "watch": watch})  # fmt: skip

    found = problems(data)

    assert field in [p.field for p in found], found
    assert all(p.field.startswith("tools[1].watch") for p in found), found
    assert any(words in p.message for p in found if p.field == field), found


def test_watch_belongs_to_release_tools_only():
    data = spec_data({"name": "prettier", "method": "npm", "version": "3.2.0", "watch": {"npm": "prettier"}})

    assert fields(data) == ["tools[1].watch"]

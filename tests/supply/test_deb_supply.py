"""The deb method through the supply commands, against the fake upstream: `lock` records
each arch's .deb, `audit` names the vendor package, `sbom` carries the digests and a purl,
`outdated`/`update` follow a .deb published as a GitHub release and say plainly that any
other host has no listing to ask."""

from __future__ import annotations

import json

import pytest
from packageurl import PackageURL

from generator.loader import load_spec
from generator.lockfile import Lock
from generator.methods.context import RenderContext
from tests.integration.small_specs import SHA_A, SHA_B, load, spec_data

from .upstream_specs import iso, write_spec


def deb_tool(url: str, version: str = "1.0.0", **changes) -> dict:
    return {"name": "demo", "method": "deb", "version": version, "url": url, "sha256": {"amd64": SHA_A, "arm64": SHA_B}, **changes}


def release_url(server) -> str:
    return server.url("github", "/example/demo/releases/download/v{version}/demo_{version}_{arch}.deb")


def serve_debs(server, version: str) -> dict[str, str]:
    """Both arches' .deb of ``version`` (bytes that stand for a package: lock only hashes them)."""
    return {
        arch: server.artifact("github", f"/example/demo/releases/download/v{version}/demo_{version}_{arch}.deb",
                              f"demo {version} {arch}\n".encode() * 100)
        for arch in ("amd64", "arm64")
    }  # fmt: skip


def test_lock_records_each_arch(tmp_path, upstream, sandbox):
    served = serve_debs(upstream, "1.0.0")
    spec = write_spec(tmp_path, deb_tool(release_url(upstream)))

    result = sandbox(spec, "lock", "demo")

    assert result.returncode == 0, result.stderr
    lock = Lock.read(tmp_path / "sandbox.lock")
    assert {arch: entry.sha256 for arch, entry in lock.artifacts["demo"].items()} == served


def test_audit_names_the_vendor_package_and_nothing_else_about_it(tmp_path, upstream, sandbox):
    spec = write_spec(tmp_path, deb_tool(release_url(upstream)))

    result = sandbox(spec, "audit", "--format", "json")

    findings = [f for f in json.loads(result.stdout) if f["subject"] == "demo"]
    # the spec pins both digests, so a missing lock entry is no finding
    assert findings == [
        {"subject": "demo", "kind": "vendor-package", "reason": "a .deb from 127.0.0.1:"
         f"{upstream.base.rsplit(':', 1)[1]}: its maintainer scripts run as root in the build", "fails_strict": True},
    ]  # fmt: skip


def test_a_disabled_deb_is_not_audited(tmp_path, upstream, sandbox):
    spec = write_spec(tmp_path, deb_tool(release_url(upstream), enabled=False, disabled_reason="not needed yet"))
    assert [f for f in json.loads(sandbox(spec, "audit", "--format", "json").stdout) if f["subject"] == "demo"] == []


@pytest.mark.parametrize(
    ("url", "purl"),
    [
        ("https://github.com/Example/Demo/releases/download/v{version}/demo_{version}_{arch}.deb", "pkg:github/example/demo@v1.0.0"),
        ("https://downloads.example.com/demo/demo_{version}_{arch}.deb", "pkg:generic/demo@1.0.0"),
    ],
)
def test_sbom_component(url, purl):
    spec = load(spec_data(deb_tool(url)))
    (tool,) = [t for t in spec.tools if t.name == "demo"]
    (component,) = tool.sbom_components(RenderContext(spec, spec.default_profile))
    assert component.purl == purl
    assert PackageURL.from_string(purl).to_string() == purl
    assert [(d.key, d.sha256, d.sha256_from) for d in component.downloads] == [
        ("amd64", SHA_A, "sandbox.yaml"),
        ("arm64", SHA_B, "sandbox.yaml"),
    ]
    assert component.downloads[1].url == url.replace("{version}", "1.0.0").replace("{arch}", "arm64")


def test_outdated_asks_github_releases_for_a_release_asset(tmp_path, upstream, sandbox):
    upstream.github_releases(
        "example/demo", [{"tag_name": "v1.1.0", "published_at": iso(10)}, {"tag_name": "v1.0.0", "published_at": iso(90)}]
    )
    spec = write_spec(tmp_path, deb_tool(release_url(upstream)))

    rows = json.loads(sandbox(spec, "outdated", "demo", "--format", "json").stdout)

    assert [(r["tool"], r["current"], r["latest"], r["update"], r["source"]) for r in rows] == [
        ("demo", "1.0.0", "1.1.0", "1.1.0", "github:example/demo"),
    ]


def test_outdated_says_when_no_listing_can_be_asked(tmp_path, upstream, sandbox):
    spec = write_spec(tmp_path, deb_tool(upstream.url("github", "/vendor/demo_{version}_{arch}.deb")))

    result = sandbox(spec, "outdated", "demo", "--format", "json")

    (row,) = json.loads(result.stdout)
    assert (row["latest"], row["source"]) == (None, "-")
    assert row["note"] == "no known upstream to ask (not a GitHub release or registry package)"
    assert upstream.requests == []  # nothing was guessed at


def test_update_moves_the_version_and_relocks_the_new_debs(tmp_path, upstream, sandbox):
    upstream.github_releases("example/demo", [{"tag_name": "1.1.0", "published_at": iso(10)}])
    served = serve_debs(upstream, "1.1.0")
    spec = write_spec(tmp_path, deb_tool(release_url(upstream)))

    result = sandbox(spec, "update", "demo")

    assert result.returncode == 0, result.stderr
    assert load_spec(spec).tools[-1].version == "1.1.0"
    # the spec's digests were the old files': said so, and the lock's new ones take precedence
    assert "demo: sandbox.yaml still pins the sha256 of 1.0.0" in result.stderr
    lock = Lock.read(tmp_path / "sandbox.lock")
    assert {arch: entry.sha256 for arch, entry in lock.artifacts["demo"].items()} == served

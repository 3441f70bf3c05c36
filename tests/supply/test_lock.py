"""`sandbox lock` end to end against the fake upstream: digests, images, resuming, failures."""

from __future__ import annotations

import hashlib
import re

from generator.lockfile import Lock

from .upstream_specs import release_tool, serve_checksum_files, serve_release, write_spec

MANIFEST = b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}'


def _script_tool(server):
    return {
        "name": "installer",
        "method": "script",
        "version": "2.0.0",
        "url": server.url("github", "/owner/installer/releases/download/v{version}/install.sh"),
        "runs_upstream_code": True,
        "unverified": "upstream publishes no checksum",
    }


def _apt_repo_tool(server):
    return {
        "name": "vendor",
        "method": "apt",
        "packages": ["vendor-cli"],
        "unpinned_reason": "the vendor repository carries one version",
        "repo": {
            "url": server.url("github", "/vendor/apt"),
            "suite": "stable",
            "key_url": server.url("github", "/vendor/key.gpg"),
            "key_unverified": "no published key digest",
        },
    }


def test_lock_records_the_digest_of_every_download_and_the_base_image(tmp_path, upstream, sandbox):
    served = serve_release(upstream)
    script_sha = upstream.artifact("github", "/owner/installer/releases/download/v2.0.0/install.sh", b"#!/bin/sh\necho hi\n")
    key_sha = upstream.artifact("github", "/vendor/key.gpg", b"-----BEGIN PGP PUBLIC KEY BLOCK-----\nfake\n")
    digest = upstream.image("library/ubuntu", "24.04", MANIFEST)
    spec = write_spec(tmp_path, release_tool(upstream), _script_tool(upstream), _apt_repo_tool(upstream))

    result = sandbox(spec, "lock")

    assert result.returncode == 0, result.stderr
    lock = Lock.read(tmp_path / "sandbox.lock")
    assert {k: e.sha256 for k, e in lock.artifacts["rg"].items()} == served
    assert lock.artifacts["installer"]["script"].sha256 == script_sha
    assert lock.artifacts["vendor"]["key"].sha256 == key_sha
    assert lock.images == {"ubuntu:24.04": digest}
    assert digest == "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
    # the registry was asked with the token from the anonymous flow
    manifest_requests = upstream.asked("/v2/library/ubuntu/manifests/24.04")
    assert any(r.headers.get("Authorization") == "Bearer fake-registry-token" for r in manifest_requests)
    # the file is sorted and written by one writer: reading and writing gives the same bytes
    text = (tmp_path / "sandbox.lock").read_text()
    assert Lock.read(tmp_path / "sandbox.lock").dumps() == text
    assert text.index("installer:") < text.index("rg:") < text.index("vendor:")


def test_generate_renders_the_locked_digests(tmp_path, upstream, sandbox):
    served = serve_release(upstream)
    digest = upstream.image("library/ubuntu", "24.04", MANIFEST)
    spec = write_spec(tmp_path, release_tool(upstream))
    assert sandbox(spec, "lock").returncode == 0

    assert sandbox(spec, "generate").returncode == 0

    dockerfile = (tmp_path / "Dockerfile").read_text()
    assert f"FROM ubuntu:24.04@{digest} AS base" in dockerfile
    for arch, sha in served.items():
        assert re.search(rf"\n +--asset {arch} \S+ \\\n +--sha256 {sha} \\\n", dockerfile), dockerfile
    # the checksum file is no longer fetched once every arch has a locked digest
    assert "--checksums" not in dockerfile
    listed = sandbox(spec, "list", "--format", "json")
    assert "sha256 from sandbox.lock" in listed.stdout


def test_a_second_run_fetches_nothing_unless_refreshed(tmp_path, upstream, sandbox):
    serve_release(upstream)
    upstream.image("library/ubuntu", "24.04", MANIFEST)
    spec = write_spec(tmp_path, release_tool(upstream))
    assert sandbox(spec, "lock").returncode == 0
    fetched = len(upstream.asked("/releases/download/"))
    assert fetched == 4  # each asset, and the checksum file each is checked against

    again = sandbox(spec, "lock")

    assert again.returncode == 0
    assert len(upstream.asked("/releases/download/")) == fetched
    assert again.stdout.count("kept") == 2
    refreshed = sandbox(spec, "lock", "--refresh")
    assert refreshed.returncode == 0
    assert len(upstream.asked("/releases/download/")) == fetched + 4


def test_every_failing_url_is_reported_and_the_successes_are_written(tmp_path, upstream, sandbox):
    served = serve_release(upstream)
    upstream.image("library/ubuntu", "24.04", MANIFEST)
    # the second tool's assets: one missing (404), one broken (500)
    upstream.serve("/gh/owner/fd/releases/download/2.0.0/fd-2.0.0-aarch64.tar.gz", b"oops", status=500)
    spec = write_spec(tmp_path, release_tool(upstream), release_tool(upstream, "fd", "2.0.0"))

    result = sandbox(spec, "lock")

    assert result.returncode == 3
    assert "fd-2.0.0-x86_64.tar.gz: HTTP 404" in result.stderr
    assert "fd-2.0.0-aarch64.tar.gz: HTTP 500" in result.stderr
    assert "2 download(s) failed" in result.stderr
    lock = Lock.read(tmp_path / "sandbox.lock")
    assert {k: e.sha256 for k, e in lock.artifacts["rg"].items()} == served
    assert "fd" not in lock.artifacts
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_download_that_breaks_off_is_resumed_with_a_range_request(tmp_path, upstream, sandbox):
    data = bytes(range(256)) * 400
    path = "/gh/owner/rg/releases/download/1.0.0/rg-1.0.0-x86_64.tar.gz"
    upstream.serve(path, data, cut_after=10_000, cuts_left=1)
    arm = upstream.artifact("github", "/owner/rg/releases/download/1.0.0/rg-1.0.0-aarch64.tar.gz", b"arm")
    sums = {path.removeprefix("/gh"): hashlib.sha256(data).hexdigest(), "/owner/rg/releases/download/1.0.0/rg-1.0.0-aarch64.tar.gz": arm}
    serve_checksum_files(upstream, sums)
    upstream.image("library/ubuntu", "24.04", MANIFEST)
    spec = write_spec(tmp_path, release_tool(upstream))

    result = sandbox(spec, "lock")

    assert result.returncode == 0, result.stderr
    assert Lock.read(tmp_path / "sandbox.lock").artifacts["rg"]["amd64"].sha256 == hashlib.sha256(data).hexdigest()
    ranges = [r.headers.get("Range") for r in upstream.asked(path)]
    assert ranges == [None, "bytes=10000-"]


def test_platform_and_tool_selection(tmp_path, upstream, sandbox):
    serve_release(upstream)
    serve_release(upstream, "fd", "2.0.0")
    upstream.image("library/ubuntu", "24.04", MANIFEST)
    spec = write_spec(tmp_path, release_tool(upstream), release_tool(upstream, "fd", "2.0.0"))

    assert sandbox(spec, "lock", "--platform", "linux/amd64").returncode == 0
    lock = Lock.read(tmp_path / "sandbox.lock")
    assert {tool: sorted(entries) for tool, entries in lock.artifacts.items()} == {"fd": ["amd64"], "rg": ["amd64"]}

    assert sandbox(spec, "lock", "fd").returncode == 0
    lock = Lock.read(tmp_path / "sandbox.lock")
    assert {tool: sorted(entries) for tool, entries in lock.artifacts.items()} == {"fd": ["amd64", "arm64"], "rg": ["amd64"]}
    # naming tools locks those tools only: the registry was asked once, by the first run
    assert len(upstream.asked("/v2/library/ubuntu/manifests/")) == 2  # 401 + the token-bearing retry


def test_unknown_tool_and_platform_are_usage_errors(tmp_path, upstream, sandbox):
    spec = write_spec(tmp_path, release_tool(upstream))
    unknown = sandbox(spec, "lock", "nope")
    assert unknown.returncode == 2
    assert "unknown tool(s): nope" in unknown.stderr
    platform = sandbox(spec, "lock", "--platform", "linux/s390x")
    assert platform.returncode == 2
    assert not (tmp_path / "sandbox.lock").exists()


def test_a_malformed_lock_file_is_a_clear_error(tmp_path, upstream, sandbox):
    spec = write_spec(tmp_path, release_tool(upstream))
    (tmp_path / "sandbox.lock").write_text("artifacts:\n  rg:\n    amd64: {url: x, sha256: nothex}\n")
    result = sandbox(spec, "generate")
    assert result.returncode == 2
    assert "artifacts.rg.amd64.sha256: expected 64 lowercase hex digits" in result.stderr


def test_an_interrupted_run_keeps_what_it_locked_and_the_next_run_resumes(tmp_path, upstream, sandbox):
    import pytest

    from generator.loader import load_spec
    from generator.supply import lock as locking
    from generator.supply.fetch import Http
    from generator.supply.registry import Registry
    from generator.supply.upstreams import Upstreams

    serve_release(upstream)
    upstream.image("library/ubuntu", "24.04", MANIFEST)
    spec_path = write_spec(tmp_path, release_tool(upstream))
    config = Upstreams.from_env()
    http = Http()

    def interrupt_after_first(line: str) -> None:
        if line.startswith("locked"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        locking.run(
            load_spec(spec_path), Lock(), tmp_path / "sandbox.lock", http, Registry(http, config),
            jobs=1, report=interrupt_after_first,
        )  # fmt: skip
    partial = Lock.read(tmp_path / "sandbox.lock")
    done = sum(len(entries) for entries in partial.artifacts.values()) + len(partial.images)
    assert done == 1

    resumed = sandbox(spec_path, "lock")

    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.count("kept") == (1 if partial.artifacts else 0)
    final = Lock.read(tmp_path / "sandbox.lock")
    assert sorted(final.artifacts["rg"]) == ["amd64", "arm64"] and final.images

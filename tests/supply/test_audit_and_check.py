"""`sandbox audit` (what is unpinned or unverified, and why) and stale-lock detection in `check`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from generator.lockfile import Lock

from .upstream_specs import release_tool, serve_release, write_spec

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = b'{"schemaVersion": 2, "manifests": []}'


def _tools(server):
    unverified = release_tool(server, "bare", checksum_file=None, unverified="upstream publishes no checksums")
    script = {
        "name": "installer",
        "method": "script",
        "version": "2.0.0",
        "url": server.url("github", "/owner/installer/releases/download/v{version}/install.sh"),
        "runs_upstream_code": True,
        "unverified": "upstream publishes no checksum for the script",
    }
    return [release_tool(server), unverified, script]


def _audit(sandbox, spec, *args):
    result = sandbox(spec, "audit", "--format", "json", *args)
    return result, {(f["subject"], f["kind"]): f["reason"] for f in json.loads(result.stdout)}


def test_audit_lists_each_exception_with_the_spec_reason(tmp_path, upstream, sandbox):
    spec = write_spec(tmp_path, *_tools(upstream))

    result, found = _audit(sandbox, spec)

    assert result.returncode == 0
    assert found == {
        ("rg", "checksum-file"): "checksum file fetched at build time from the artifact's own host; "
        "no digest in sandbox.lock for amd64, arm64",
        ("bare", "unverified"): "upstream publishes no checksums; no digest in sandbox.lock for amd64, arm64",
        ("installer", "script"): "runs the upstream installer script; UNVERIFIED: upstream publishes no checksum "
        "for the script; no digest in sandbox.lock for script",
        ("image ubuntu:24.04", "no-digest"): "pulled by tag: no digest in sandbox.lock; run `sandbox lock` where upstream is reachable",
    }
    strict = sandbox(spec, "audit", "--strict")
    assert strict.returncode == 1
    assert "audit --strict: 4 item(s) unpinned or unverified" in strict.stderr
    assert "installer" in strict.stdout and "UNVERIFIED" in strict.stdout


def _locked(tmp_path, upstream, sandbox, **top) -> tuple[Path, dict[str, str]]:
    """The spec of _tools, locked against the fake upstream; returns it and what was served."""
    serve_release(upstream)
    served = {f"bare {arch}": sha for arch, sha in serve_release(upstream, "bare").items()}
    served["installer script"] = upstream.artifact("github", "/owner/installer/releases/download/v2.0.0/install.sh", b"#!/bin/sh\n")
    upstream.image("library/ubuntu", "24.04", MANIFEST)
    spec = write_spec(tmp_path, *_tools(upstream), **top)
    assert sandbox(spec, "lock").returncode == 0
    return spec, served


FIRST_USE = "sha256 pinned on first use by sandbox lock (the bytes served when locked, checked against nothing independent)"
TO_VERIFY = "to verify, compare with a digest published apart from the download and pin it in sandbox.yaml"


def test_locking_removes_what_the_lock_verifies_and_names_what_it_pinned_on_first_use(tmp_path, upstream, sandbox):
    spec, served = _locked(tmp_path, upstream, sandbox)

    result, found = _audit(sandbox, spec, "--strict")

    # rg's digests matched its checksum file when locked: verified, no longer listed; bare's
    # and the installer's were checked against nothing: pinned on first use, not verified;
    # a script installer stays listed: it runs upstream code even when its bytes are pinned
    assert found == {
        ("bare", "pinned-on-first-use"): f"upstream publishes no checksums; {FIRST_USE}; {TO_VERIFY}",
        ("installer", "script"): "runs the upstream installer script",
        ("installer", "pinned-on-first-use"): f"upstream publishes no checksum for the script; {FIRST_USE}; {TO_VERIFY}",
    }
    pins = {f["subject"]: f["pins"] for f in json.loads(result.stdout) if f["kind"] == "pinned-on-first-use"}
    assert {f"{subject} {p['key']}": p["sha256"] for subject, entries in pins.items() for p in entries} == served
    assert pins["bare"][0]["url"] == upstream.url("github", "/owner/bare/releases/download/1.0.0/bare-1.0.0-x86_64.tar.gz")
    # the default policy reports a first-use digest and lets --strict pass it: only the script fails it
    assert {f["kind"]: f["fails_strict"] for f in json.loads(result.stdout)} == {"pinned-on-first-use": False, "script": True}
    assert result.returncode == 1
    assert "audit --strict: 1 item(s) unpinned or unverified" in result.stderr
    write_spec(tmp_path, release_tool(upstream), release_tool(upstream, "bare", checksum_file=None, unverified="none yet"))
    strict = sandbox(spec, "audit", "--strict")
    assert strict.returncode == 0
    assert "bare  pinned-on-first-use  none yet; sha256 pinned on first use by sandbox lock" in strict.stdout


def test_audit_shows_each_first_use_digest_and_where_it_was_locked_from(tmp_path, upstream, sandbox):
    spec, served = _locked(tmp_path, upstream, sandbox)

    lines = sandbox(spec, "audit").stdout.splitlines()

    amd64 = upstream.url("github", "/owner/bare/releases/download/1.0.0/bare-1.0.0-x86_64.tar.gz")
    script = upstream.url("github", "/owner/installer/releases/download/v2.0.0/install.sh")
    indent = " " * (len("installer") + 4)  # under the subjects, the widest of which is installer
    bare = next(i for i, line in enumerate(lines) if line.startswith("bare       pinned-on-first-use  "))
    assert lines[bare + 1] == f"{indent}amd64: sha256 {served['bare amd64']}, locked from {amd64}"
    assert lines[bare + 2].startswith(f"{indent}arm64: sha256 {served['bare arm64']}, locked from ")
    assert f"{indent}script: sha256 {served['installer script']}, locked from {script}" in lines
    assert lines[-1] == (
        "1 item(s) unpinned or unverified; 2 item(s) pinned on first use "
        "(--strict lets them pass: policy independent_verification is optional)"
    )


def test_first_use_fails_strict_when_the_policy_requires_independent_verification(tmp_path, upstream, sandbox):
    spec, _ = _locked(tmp_path, upstream, sandbox, policy={"independent_verification": "required"})

    result, found = _audit(sandbox, spec, "--strict")

    assert set(found) == {("bare", "pinned-on-first-use"), ("installer", "script"), ("installer", "pinned-on-first-use")}
    assert all(f["fails_strict"] for f in json.loads(result.stdout))
    assert result.returncode == 1
    assert "audit --strict: 3 item(s) unpinned, unverified or pinned on first use" in result.stderr
    # without the script, the first-use digest alone fails it
    write_spec(tmp_path, release_tool(upstream), release_tool(upstream, "bare", checksum_file=None, unverified="none yet"),
               policy={"independent_verification": "required"})  # fmt: skip
    alone = sandbox(spec, "audit", "--strict")
    assert alone.returncode == 1
    assert alone.stdout.splitlines()[-1] == "1 item(s) pinned on first use"
    assert "audit --strict: 1 item(s) unpinned, unverified or pinned on first use" in alone.stderr
    # pinning the digest in sandbox.yaml (after comparing it with an independent source) verifies it
    lock = Lock.read(tmp_path / "sandbox.lock")
    digests = {arch: entry.sha256 for arch, entry in lock.artifacts["bare"].items()}
    write_spec(tmp_path, release_tool(upstream), release_tool(upstream, "bare", checksum_file=None, sha256=digests),
               policy={"independent_verification": "required"})  # fmt: skip
    verified = sandbox(spec, "audit", "--strict")
    assert verified.returncode == 0, verified.stdout
    assert verified.stdout == "audit: everything is pinned and verified\n"


def test_apt_pins_are_listed_only_when_the_policy_asks(tmp_path, upstream, sandbox):
    upstream.image("library/ubuntu", "24.04", MANIFEST)
    spec = write_spec(tmp_path)
    assert sandbox(spec, "lock").returncode == 0
    assert _audit(sandbox, spec)[1] == {}

    write_spec(tmp_path, policy={"apt_pins": "required"})
    _, found = _audit(sandbox, spec)

    assert found == {
        ("support", "unpinned-apt"): "zsh, tini, git: test fixture follows the distribution",
        ("base packages", "unpinned-apt"): "ca-certificates, curl: no reason given",
    }


def test_the_default_spec_says_its_lock_entries_are_absent(tmp_path, sandbox):
    for name in ("sandbox.yaml", "sandbox.lock"):
        shutil.copyfile(ROOT / name, tmp_path / name)
    assert Lock.read(tmp_path / "sandbox.lock").artifacts == {}  # no digest without the real artifact

    result, found = _audit(sandbox, tmp_path / "sandbox.yaml")

    assert result.returncode == 0
    assert found[("image ubuntu:24.04", "no-digest")].startswith("pulled by tag: no digest in sandbox.lock")
    release_rows = [reason for (subject, kind), reason in found.items() if kind in ("checksum-file", "unverified")]
    assert release_rows and all("no digest in sandbox.lock for amd64, arm64" in r for r in release_rows)


def test_check_fails_on_a_stale_lock_and_names_the_entries(tmp_path, upstream, sandbox):
    serve_release(upstream)
    serve_release(upstream, "rg", "1.1.0")
    upstream.image("library/ubuntu", "24.04", MANIFEST)
    spec = write_spec(tmp_path, release_tool(upstream))
    assert sandbox(spec, "lock").returncode == 0
    assert sandbox(spec, "generate").returncode == 0
    assert sandbox(spec, "check").returncode == 0

    # a version bump by hand, regenerated but not re-locked
    write_spec(tmp_path, release_tool(upstream, version="1.1.0"))
    assert sandbox(spec, "generate").returncode == 0
    stale = sandbox(spec, "check")

    assert stale.returncode == 1
    assert "stale sandbox.lock entry: rg amd64: locked " in stale.stdout
    assert "rg-1.0.0-x86_64.tar.gz but the spec now downloads " in stale.stdout
    assert "stale sandbox.lock entry: rg arm64:" in stale.stdout
    assert "sandbox.lock is stale (2 entry/entries" in stale.stderr
    # re-locking (and regenerating, since the digests change the Dockerfile) makes it pass
    assert sandbox(spec, "lock").returncode == 0
    assert sandbox(spec, "check").returncode == 1  # the Dockerfile now lags behind the lock
    assert sandbox(spec, "generate").returncode == 0
    assert sandbox(spec, "check").returncode == 0


def test_check_names_entries_of_removed_tools_and_images(tmp_path, upstream, sandbox):
    serve_release(upstream)
    upstream.image("library/ubuntu", "24.04", MANIFEST)
    spec = write_spec(tmp_path, release_tool(upstream))
    assert sandbox(spec, "lock").returncode == 0
    write_spec(tmp_path, base={"image": "ubuntu", "tag": "22.04"})
    assert sandbox(spec, "generate").returncode == 0

    result = sandbox(spec, "check")

    assert result.returncode == 1
    assert "stale sandbox.lock entry: rg amd64: the spec no longer downloads" in result.stdout
    assert "stale sandbox.lock entry: image ubuntu:24.04: the spec no longer uses it" in result.stdout

"""A digest that `sandbox lock` took from the bytes it was served, checked against nothing
independent (no upstream checksum file, no equal sha256 in sandbox.yaml), is trust on first
use: `sandbox audit` lists it as pinned-on-first-use (never drops it, never calls it
verified), and the Dockerfile, `sandbox list` and the SBOM say "pinned on first use by
sandbox lock". Whether it fails `audit --strict` is the spec's policy. No network: the
lock is written here as `sandbox lock` would write it."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from generator.filters import LINE_LIMIT
from generator.lockfile import Lock, LockEntry
from generator.methods.context import RenderContext
from generator.methods.data import FIRST_USE, FIRST_USE_KIND, Finding, Pin
from generator.sbom.document import render as sbom
from generator.supply.audit import audit
from tests.integration.small_specs import SHA_A, SHA_B, load, render_spec, spec_data, tool_data

#: what the lock holds where it disagrees with sandbox.yaml (and for downloads it pins none for)
SERVED = "c" * 64

RELEASE_UNVERIFIED = tool_data("release", drop=("sha256",), unverified="upstream publishes no checksums")
SCRIPT_UNVERIFIED = tool_data("script", drop=("sha256",), unverified="no checksum for the script")
DEB = {"name": "demo", "method": "deb", "version": "1.0.0", "url": "https://example.com/demo_{version}_{arch}.deb",
       "sha256": {"amd64": SHA_A, "arm64": SHA_B}}  # fmt: skip
RUSTUP = {"name": "rust", "method": "rustup", "version": "1.94.1", "rustup_version": "1.29.0", "sha256": {"amd64": SHA_A, "arm64": SHA_B}}
REPO = {"url": "https://apt.example.com/debian", "suite": "stable", "key_url": "https://apt.example.com/key.gpg"}
APT_KEY_UNVERIFIED = tool_data("apt", repo={**REPO, "key_unverified": "the vendor publishes no key digest"})

#: (tool data, what `sandbox list` and the SBOM call the digest); each pinned on first use once locked
FIRST_USE_CASES = {
    "release-unverified": (RELEASE_UNVERIFIED, "sha256"),
    "release-sha256-differs": (tool_data("release"), "sha256"),
    "script-unverified": (SCRIPT_UNVERIFIED, "script sha256"),
    "deb-sha256-differs": (DEB, ".deb sha256"),
    "rustup-sha256-differs": (RUSTUP, "rustup-init sha256"),
    "apt-key-unverified": (APT_KEY_UNVERIFIED, "sha256"),
}


def _spec(tool: dict, **top):
    return load(spec_data(tool, **top))


def _tool(spec, name: str):
    return next(t for t in spec.tools if t.name == name)


def _lock(spec, name: str, digest=lambda key: SERVED, keys=None) -> Lock:
    """The lock `sandbox lock` would write for the tool's downloads (``keys``: only these)."""
    lock = Lock()
    for key, url in _tool(spec, name).downloads(RenderContext(spec, spec.default_profile)):
        if keys is None or key in keys:
            lock.set(name, key, LockEntry(url, digest(key)))
    return lock


def _pins(spec, name: str, lock: Lock) -> tuple[Pin, ...]:
    return tuple(Pin(key, entry.url, entry.sha256) for key, entry in lock.artifacts[name].items())


def _audit(spec, lock: Lock, name: str) -> list[Finding]:
    """The audit's findings about the tool ``name`` (the base image, unlocked here, is one more)."""
    return [f for f in audit(spec, lock) if f.subject == name]


def _unwrapped(text: str) -> str:
    """Dockerfile comments as one line each (the comment filter wraps them)."""
    return re.sub(r"\n#   ", " ", text)


@pytest.mark.parametrize("case", sorted(FIRST_USE_CASES))
def test_audit_lists_a_digest_pinned_on_first_use_with_the_lock_s_digests(case):
    data, _ = FIRST_USE_CASES[case]
    spec = _spec(data)
    lock = _lock(spec, data["name"])

    found = _audit(spec, lock, data["name"])

    (first_use,) = [f for f in found if f.kind == FIRST_USE_KIND]
    assert first_use.pins == _pins(spec, data["name"], lock)  # each download: key, URL locked from, digest
    assert f"sha256 {FIRST_USE}" in first_use.reason
    assert not first_use.fails_strict  # the default policy reports it and lets --strict pass
    # and nothing calls it anything else: no verified, unverified or missing-entry row for it
    assert {f.kind for f in found} <= {FIRST_USE_KIND, "script", "vendor-package"}


@pytest.mark.parametrize("case", sorted(FIRST_USE_CASES))
def test_the_dockerfile_and_the_sbom_say_pinned_on_first_use(case):
    data, what = FIRST_USE_CASES[case]
    spec = _spec(data)
    lock = _lock(spec, data["name"])

    text = render_spec(spec, lock=lock).text
    dockerfile = _unwrapped(text)
    document = json.loads(sbom(spec, lock))

    assert f"sha256 {FIRST_USE}" in dockerfile
    assert SERVED in dockerfile  # the build checks the bytes against the lock's digest all the same
    assert max(len(line) for line in text.splitlines() if line.startswith("#")) <= LINE_LIMIT  # the comments wrap
    components = [c for c in document["components"] if c.get("properties") and
                  {"name": "sandbox:tool", "value": data["name"]} in c["properties"]]  # fmt: skip
    assert components
    for component in components:
        comments = [r["comment"] for r in component["externalReferences"] if r["type"] == "distribution"]
        assert comments and all(f"sha256 from sandbox.lock, {FIRST_USE}" in c for c in comments)
        verification = {p["name"]: p["value"] for p in component["properties"]}["sandbox:verification"]
        assert "verified" not in verification.replace("unverified", "")
        if data["method"] != "apt":  # apt's verification is the signed repository's; the key is the download
            assert verification.startswith(f"{FIRST_USE_KIND} ({what} {FIRST_USE}")


def test_the_spdx_comment_does_not_call_a_first_use_digest_verified():
    spec = _spec(RELEASE_UNVERIFIED)
    document = json.loads(sbom(spec, _lock(spec, "rg"), None, "spdx"))

    comments = [p["comment"] for p in document["packages"] if p["name"] == "rg"]

    assert len(comments) == 2
    assert all(f"verification: {FIRST_USE_KIND} (sha256 {FIRST_USE})" in c and "verified:" not in c for c in comments)


def test_the_audit_keeps_the_spec_s_own_reason_and_says_which_spec_digest_differs():
    spec = _spec(RELEASE_UNVERIFIED)
    (finding,) = _audit(spec, _lock(spec, "rg"), "rg")
    assert finding.reason.startswith(f"upstream publishes no checksums; sha256 {FIRST_USE}; to verify")

    spec = _spec(tool_data("release"))
    # amd64 is what sandbox.yaml pins; arm64 is not
    (finding,) = _audit(spec, _lock(spec, "rg", lambda key: SHA_A if key == "amd64" else SERVED), "rg")
    assert [pin.key for pin in finding.pins] == ["arm64"]
    assert f"sha256 {FIRST_USE}; sandbox.yaml's sha256 for arm64 differs; to verify" in finding.reason
    dockerfile = _unwrapped(render_spec(spec, lock=_lock(spec, "rg", lambda key: SHA_A if key == "amd64" else SERVED)).text)
    assert f"# rg: {FIRST_USE_KIND} (sha256 for arm64 {FIRST_USE})" in dockerfile


@pytest.mark.parametrize(
    ("data", "verification"),
    [
        (tool_data("release"), "pinned-digest (sha256 from sandbox.lock (the same as sandbox.yaml's))"),
        (tool_data("release", drop=("sha256",), checksum_file={"url": "https://example.com/rg/{version}/SHA256SUMS"}),
         "pinned-digest (sha256 from sandbox.lock (matched the checksum file when locked))"),
        (tool_data("script"), "pinned-digest (script sha256 from sandbox.lock; runs upstream code)"),
        (DEB, "pinned-digest (.deb sha256 from sandbox.lock)"),
        (RUSTUP, "pinned-digest (rustup-init sha256 from sandbox.lock)"),
        (tool_data("apt", repo={**REPO, "key_sha256": SHA_A}), "package-manager (apt, signed vendor repository)"),
    ],
    ids=["release-sha256-same", "release-checksum-file", "script-sha256-same", "deb-sha256-same", "rustup-sha256-same", "apt-key-same"],
)  # fmt: skip
def test_a_locked_digest_checked_when_locked_is_not_first_use(data, verification):
    spec = _spec(data)
    name = data["name"]
    # the lock holds what the spec pins (or, with a checksum file, what `lock` checked against it)
    lock = _lock(spec, name, lambda key: _tool(spec, name).spec_sha256(key) or SERVED)

    assert [f for f in audit(spec, lock) if f.kind == FIRST_USE_KIND] == []
    assert str(_tool(spec, name).verification(RenderContext(spec, spec.default_profile, lock))) == verification
    assert FIRST_USE not in _unwrapped(render_spec(spec, lock=lock).text)
    assert FIRST_USE not in sbom(spec, lock)


def test_a_partial_lock_lists_the_unlocked_download_unverified_and_the_locked_one_pinned_on_first_use():
    spec = _spec(RELEASE_UNVERIFIED)
    lock = _lock(spec, "rg", keys={"amd64"})  # `sandbox lock --platform linux/amd64`

    found = {f.kind: f for f in _audit(spec, lock, "rg")}

    assert set(found) == {"unverified", FIRST_USE_KIND}
    assert found["unverified"].reason == "upstream publishes no checksums; no digest in sandbox.lock for arm64"
    assert [pin.key for pin in found[FIRST_USE_KIND].pins] == ["amd64"]


def test_a_first_use_digest_for_an_old_url_is_not_listed():
    spec = _spec(RELEASE_UNVERIFIED)
    lock = _lock(spec, "rg")
    newer = _spec({**RELEASE_UNVERIFIED, "version": "15.2.0"})  # bumped by hand, not re-locked

    found = {f.kind: f for f in _audit(newer, lock, "rg")}

    # the stale entry is not used by the build (`check` names it): what the audit lists is the unverified download
    assert set(found) == {"unverified"}


@pytest.mark.parametrize(("policy", "fails"), [({}, False), ({"independent_verification": "optional"}, False),
                                               ({"independent_verification": "required"}, True)])  # fmt: skip
def test_the_policy_decides_whether_first_use_fails_strict(policy, fails):
    spec = _spec(RELEASE_UNVERIFIED, policy=policy)

    (finding,) = _audit(spec, _lock(spec, "rg"), "rg")

    assert finding.kind == FIRST_USE_KIND and finding.fails_strict is fails


def test_the_policy_leaves_the_other_findings_failing_strict():
    spec = _spec(SCRIPT_UNVERIFIED, policy={"independent_verification": "optional"})

    found = audit(spec, Lock())  # nothing locked: the script is unverified

    assert {f.kind for f in found} == {"script", "no-digest"}
    assert all(f.fails_strict for f in found)


def test_the_json_form_of_a_finding_carries_its_pins_and_whether_it_fails_strict():
    pin = Pin("amd64", "https://example.com/rg", SERVED)
    finding = Finding("rg", FIRST_USE_KIND, "why", (pin,), fails_strict=False)

    assert finding.as_dict() == {
        "subject": "rg", "kind": FIRST_USE_KIND, "reason": "why",
        "pins": [{"key": "amd64", "url": "https://example.com/rg", "sha256": SERVED}], "fails_strict": False,
    }  # fmt: skip
    without = dataclasses.replace(finding, pins=())
    assert without.as_dict() == {"subject": "rg", "kind": FIRST_USE_KIND, "reason": "why", "fails_strict": False}

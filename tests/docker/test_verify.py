"""`sandbox verify` on images made here by hand and pushed to the real registry (conftest's
``registry``; no engine is needed): an image as `sandbox build` makes it passes, and each way
its release file, labels or own SBOM can disagree with the attached SBOM fails with the field
named. Signed and attached with `sandbox attest`, as the publish workflow does after a merge.
(The real two-platform push, its provenance and the wrong-key case: test_buildx.py.)"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.docker.registry import delete_image
from tests.docker.signing import SigningKey, signing_key
from tests.integration.cli import sandbox_in_process

pytestmark = pytest.mark.docker

SPEC = Path(__file__).resolve().parents[2] / "examples" / "minimal" / "sandbox.yaml"
EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}
REPOSITORY = "sandbox-test/verify"
RELEASE, SBOM_PATH = "/etc/sandbox-release", "/usr/share/sandbox/sbom.cdx.json"
LABEL = "org.opencontainers.image."


def _digest(data: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()


def _upload(registry: str, data: bytes) -> str:
    """One blob, pushed as the registry API says (POST, then PUT with its digest)."""
    started = urllib.request.Request(f"http://{registry}/v2/{REPOSITORY}/blobs/uploads/", method="POST")
    with urllib.request.urlopen(started, timeout=30) as answer:  # loopback
        location = urllib.parse.urljoin(f"http://{registry}/", answer.headers["Location"])
    digest = _digest(data)
    put = urllib.request.Request(
        f"{location}{'&' if '?' in location else '?'}digest={digest}",
        data=data,
        method="PUT",
        headers={"Content-Type": "application/octet-stream"},
    )
    with urllib.request.urlopen(put, timeout=30):  # loopback
        return digest


def _layer(files: dict[str, bytes]) -> tuple[bytes, bytes]:
    """A gzipped tar layer of ``files`` (and its uncompressed bytes, for the config's diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as layer:
        for path, data in files.items():
            entry = tarfile.TarInfo(path.lstrip("/"))
            entry.size, entry.mode = len(data), 0o444
            layer.addfile(entry, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0), raw.getvalue()


def push_image(registry: str, files: dict[str, bytes], labels: dict[str, str]) -> str:
    """A one-layer linux/amd64 image with ``files`` and ``labels``, pushed under a tag of its own; its digest."""
    compressed, raw = _layer(files)
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "config": {"Labels": labels}, "rootfs": {"type": "layers", "diff_ids": [_digest(raw)]}}
    ).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _upload(registry, config), "size": len(config)},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": _upload(registry, compressed), "size": len(compressed)}
        ],
    }
    body = json.dumps(manifest).encode()
    put = urllib.request.Request(
        f"http://{registry}/v2/{REPOSITORY}/manifests/{uuid.uuid4().hex[:12]}",
        data=body,
        method="PUT",
        headers={"Content-Type": manifest["mediaType"]},
    )
    with urllib.request.urlopen(put, timeout=30):  # loopback
        return _digest(body)


@dataclass(frozen=True)
class Made:
    """What `sandbox build` would put in an image of the minimal example: its SBOM, release file, labels."""

    sbom: bytes
    release: dict[str, str]
    labels: dict[str, str]

    def files(self, **release: str) -> dict[str, bytes]:
        fields = {**self.release, **release}
        return {RELEASE: "".join(f"{key}={value}\n" for key, value in fields.items()).encode(), SBOM_PATH: self.sbom}


@pytest.fixture(scope="module")
def made() -> Made:
    rendered = sandbox_in_process("--spec", SPEC, "sbom", env=EPOCH)
    assert rendered.returncode == 0, rendered.stderr
    sbom = json.loads(rendered.stdout)
    profile = next(p["value"] for p in sbom["metadata"]["component"]["properties"] if p["name"] == "sandbox:profile")
    base = next(c for c in sbom["components"] if c["type"] == "container" and "scope" not in c)
    release = {"NAME": sbom["metadata"]["component"]["name"], "PROFILE": profile, "VERSION": "1.0.0", "REVISION": "0" * 40,
               "CREATED": "2023-11-14T22:13:20Z"}  # fmt: skip
    labels = {LABEL + "version": "1.0.0", LABEL + "revision": "0" * 40, LABEL + "created": "2023-11-14T22:13:20Z",
              LABEL + "base.name": f"{base['name']}:{base['version']}", LABEL + "title": "Minimal sandbox"}  # fmt: skip
    return Made(rendered.stdout.encode(), release, labels)


@pytest.fixture(scope="module")
def publisher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SigningKey]:
    with signing_key(tmp_path_factory.mktemp("verify-publisher"), "sandbox-verify") as key:
        yield key


def _attested(registry: str, digest: str, key: SigningKey) -> str:
    reference = f"{registry}/{REPOSITORY}@{digest}"
    attested = sandbox_in_process(
        "--spec", SPEC, "attest", reference, "--sign-by", key.fingerprint, env={**EPOCH, "GNUPGHOME": str(key.home)}
    )
    assert attested.returncode == 0, attested.stdout + attested.stderr
    assert attested.stdout.count("attached ") == 2, attested.stdout
    return reference


def _failed(result) -> dict[str, str]:
    report = json.loads(result.stdout)
    return {check["check"]: check["detail"] for check in report["checks"] if not check["passed"]}


@pytest.mark.parametrize(
    ("change", "failed", "said"),
    [
        ({}, set(), ""),
        ({"release": {"NAME": "other/name"}}, {"release file linux/amd64"}, "NAME 'other/name'"),
        ({"release": {"PROFILE": "other"}}, {"release file linux/amd64"}, "PROFILE 'other'"),
        ({"release": {"VERSION": "1.0.1"}}, {"labels linux/amd64"}, "version '1.0.0', the release file's VERSION '1.0.1'"),
        ({"labels": {LABEL + "base.name": "debian:bookworm"}}, {"labels linux/amd64"}, "base.name 'debian:bookworm'"),
        ({"sbom": b'{"bomFormat": "CycloneDX", "components": []}'}, {"sbom in image linux/amd64"}, "differ from the image's"),
        ({"drop": SBOM_PATH}, {"sbom in image linux/amd64"}, f"no {SBOM_PATH} in the image's last layer"),
        ({"drop": RELEASE}, {"release file linux/amd64"}, f"no {RELEASE} in the image's last layer"),
    ],
    ids=["as-built", "release-name", "release-profile", "release-version", "base-label", "other-sbom-inside", "no-sbom", "no-release"],
)
def test_verify_holds_the_attached_sbom_to_the_image(registry: str, made: Made, publisher: SigningKey, change, failed, said) -> None:
    files = made.files(**change.get("release", {}))
    if "sbom" in change:
        files[SBOM_PATH] = change["sbom"]
    files.pop(change.get("drop", ""), None)
    digest = push_image(registry, files, {**made.labels, **change.get("labels", {})})
    try:
        reference = _attested(registry, digest, publisher)
        checked = sandbox_in_process("verify", reference, "--key", publisher.public, "--no-provenance", "--format", "json", timeout=300)
        assert checked.returncode == (1 if failed else 0), checked.stdout + checked.stderr
        report = json.loads(checked.stdout)
        assert {check["check"] for check in report["checks"]} >= {"image", "signature", "sbom"}
        found = _failed(checked)
        assert set(found) == failed, found
        assert all(said in detail for detail in found.values()), found
        if not failed:
            # without --no-provenance: a hand-made image has none, and says so
            asked = sandbox_in_process("verify", reference, "--key", publisher.public, "--format", "json", timeout=300)
            assert asked.returncode == 1 and _failed(asked) == {
                "provenance linux/amd64": "no BuildKit attestation manifest for this platform"
            }
    finally:
        for tag in (digest, f"{digest.replace(':', '-')}.sbom", f"{digest.replace(':', '-')}.simple-signing"):
            delete_image(registry, REPOSITORY, tag)


def test_a_signature_about_another_image_under_the_digests_tag_fails_the_check(registry: str, made: Made, publisher: SigningKey) -> None:
    digest = push_image(registry, made.files(), made.labels)
    tag = f"{digest.replace(':', '-')}.simple-signing"
    try:
        reference = _attested(registry, digest, publisher)
        url = f"http://{registry}/v2/{REPOSITORY}/manifests/{tag}"
        asked = urllib.request.Request(url, headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
        with urllib.request.urlopen(asked, timeout=30) as answer:  # loopback
            manifest = json.loads(answer.read())
        # the same signature, now claiming to be about another image
        manifest["subject"]["digest"] = "sha256:" + "0" * 64
        body = json.dumps(manifest).encode()
        put = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": manifest["mediaType"]})
        with urllib.request.urlopen(put, timeout=30):  # loopback
            pass
        checked = sandbox_in_process("verify", reference, "--key", publisher.public, "--no-provenance", "--format", "json", timeout=300)
        assert checked.returncode == 1, checked.stdout + checked.stderr
        assert _failed(checked) == {"signature": f"{tag} is about sha256:{'0' * 64}, not {digest}"}
    finally:
        for name in (digest, f"{digest.replace(':', '-')}.sbom", tag):
            delete_image(registry, REPOSITORY, name)

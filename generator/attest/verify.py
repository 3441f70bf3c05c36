"""`sandbox verify`: read back from the registry what travels with an image pushed by digest,
and check it: the signature over the digest (with the public key given, offline), BuildKit's
provenance of each platform, and the attached SBOM against what the image itself says (its
release file and SBOM, in its last layer, and its labels)."""

from __future__ import annotations

import gzip
import io
import json
import shlex
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.attest import signing
from generator.attest.attach import SBOM_TYPE, SIGNATURE_TYPE, sbom_tag, signature_tag
from generator.attest.registry import INDEX_TYPES, NotTheArtifact, Pinned, RegistryClient
from generator.dockerfile_data import RELEASE_FILE
from generator.errors import UpstreamError
from generator.paths import SBOM_IMAGE_PATH

#: how BuildKit marks an attestation manifest in an index, and the manifest it is about
_REFERENCE_TYPE, _REFERENCE_DIGEST = "vnd.docker.reference.type", "vnd.docker.reference.digest"
_PREDICATE_TYPE = "in-toto.io/predicate-type"
_PROVENANCE = "https://slsa.dev/provenance/"
#: the labels that repeat the release file's fields
_RELEASE_LABELS = {"VERSION": "version", "REVISION": "revision", "CREATED": "created"}
_LABEL = "org.opencontainers.image."


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.name, "passed": self.passed, "detail": self.detail}


@dataclass
class Report:
    image: str
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, passed: bool, detail: str) -> bool:
        self.checks.append(Check(name, passed, detail))
        return passed

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def as_dict(self) -> dict[str, Any]:
        return {"image": self.image, "verified": not self.failed, "checks": [check.as_dict() for check in self.checks]}


@dataclass(frozen=True)
class Platform:
    name: str
    digest: str
    #: the digest of its BuildKit attestation manifest, if the index has one
    attestation: str | None


def verify(image: Pinned, key_file: Path, *, provenance: bool = True) -> Report:
    """Every check of ``image``; ``provenance`` False leaves BuildKit's provenance out (a
    --reproducible push carries none)."""
    report = Report(str(image))
    client = RegistryClient(image.repository)
    manifest = client.manifest(image.digest)
    if not report.add("image", manifest is not None, f"{image.digest} in {image.repository.name}" if manifest else "no such manifest"):
        return report
    assert manifest is not None
    _signature(report, client, image, manifest, key_file)
    sbom = _attached_sbom(report, client, image)
    for platform in _platforms(client, image.digest, json.loads(manifest)):
        if provenance:
            _provenance(report, client, platform)
        if sbom is not None:
            _image_against_sbom(report, client, platform, sbom)
    return report


def _signature(report: Report, client: RegistryClient, image: Pinned, manifest: bytes, key_file: Path) -> None:
    tag = signature_tag(image.digest)
    try:
        signature = client.artifact(tag, SIGNATURE_TYPE, image.digest)
    except NotTheArtifact as exc:
        report.add("signature", False, str(exc))
        return
    if signature is None:
        report.add("signature", False, f"none attached (no tag {tag})")
        return
    verdict = signing.verify(manifest, image.repository.name, signature, key_file)
    report.add("signature", verdict.valid, verdict.detail)


def _attached_sbom(report: Report, client: RegistryClient, image: Pinned) -> dict[str, Any] | None:
    tag = sbom_tag(image.digest)
    try:
        payload = client.artifact(tag, SBOM_TYPE, image.digest)
    except NotTheArtifact as exc:
        report.add("sbom", False, str(exc))
        return None
    if payload is None:
        report.add("sbom", False, f"none attached (no tag {tag})")
        return None
    try:
        sbom = json.loads(payload)
    except ValueError as exc:
        report.add("sbom", False, f"{tag} is not JSON: {exc}")
        return None
    if not isinstance(sbom, dict) or sbom.get("bomFormat") != "CycloneDX":
        report.add("sbom", False, f"{tag} is not a CycloneDX document")
        return None
    report.add("sbom", True, f"CycloneDX {sbom.get('specVersion')}, {len(sbom.get('components', []))} components ({tag})")
    return sbom


def _platforms(client: RegistryClient, digest: str, manifest: dict[str, Any]) -> list[Platform]:
    """The image's platforms: an index's entries (less BuildKit's attestation manifests, each
    noted beside the platform it is about), or the one manifest ``digest`` names."""
    if manifest.get("mediaType") not in INDEX_TYPES and "manifests" not in manifest:
        config = json.loads(client.blob(manifest["config"]["digest"]))
        return [Platform(f"{config.get('os')}/{config.get('architecture')}", digest, None)]
    entries = manifest.get("manifests", [])
    attestations = {
        entry.get("annotations", {}).get(_REFERENCE_DIGEST): entry["digest"]
        for entry in entries
        if entry.get("annotations", {}).get(_REFERENCE_TYPE) == "attestation-manifest"
    }
    platforms = []
    for entry in entries:
        if entry.get("annotations", {}).get(_REFERENCE_TYPE):
            continue
        where = entry.get("platform", {})
        name = "/".join(part for part in (where.get("os"), where.get("architecture"), where.get("variant")) if part)
        platforms.append(Platform(name, entry["digest"], attestations.get(entry["digest"])))
    return platforms


def _provenance(report: Report, client: RegistryClient, platform: Platform) -> None:
    name = f"provenance {platform.name}"
    if platform.attestation is None:
        report.add(name, False, "no BuildKit attestation manifest for this platform")
        return
    attestation = json.loads(client.manifest(platform.attestation) or b"{}")
    layers = [
        layer for layer in attestation.get("layers", []) if layer.get("annotations", {}).get(_PREDICATE_TYPE, "").startswith(_PROVENANCE)
    ]
    if not layers:
        report.add(name, False, "the attestation manifest holds no SLSA provenance")
        return
    statement = json.loads(client.blob(layers[0]["digest"]))
    subjects = {f"sha256:{subject.get('digest', {}).get('sha256')}" for subject in statement.get("subject", [])}
    predicate = statement.get("predicate", {})
    builder = predicate.get("builder", {}).get("id") or predicate.get("runDetails", {}).get("builder", {}).get("id") or "BuildKit"
    report.add(
        name,
        platform.digest in subjects,
        f"{statement.get('predicateType')} by {builder}"
        if platform.digest in subjects
        else f"about {sorted(subjects)}, not {platform.digest}",
    )


def release_fields(text: str) -> dict[str, str]:
    """/etc/sandbox-release's KEY=VALUE lines (values quoted by bash's printf %q)."""
    found = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            words = shlex.split(value) if value else [""]
            found[key] = words[0] if words else ""
    return found


def _last_layer_files(client: RegistryClient, manifest: dict[str, Any], paths: tuple[str, ...]) -> dict[str, bytes]:
    """The files at ``paths`` in the image's last layer (where `sandbox build` puts the release
    file and the SBOM)."""
    layers = manifest.get("layers") or []
    if not layers:
        return {}
    blob = client.blob(layers[-1]["digest"])
    data = gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob
    wanted = {path.lstrip("/") for path in paths}
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as layer:
            for member in layer:
                name = member.name.removeprefix("./")
                if name in wanted and member.isreg():
                    extracted = layer.extractfile(member)
                    if extracted is not None:
                        found["/" + name] = extracted.read()
    except tarfile.TarError as exc:
        raise UpstreamError(f"the last layer {layers[-1]['digest']} is not a tar archive this can read: {exc}") from None
    return found


def _property(sbom: dict[str, Any], name: str) -> str | None:
    for entry in sbom.get("metadata", {}).get("component", {}).get("properties", []):
        if entry.get("name") == name:
            return str(entry.get("value"))
    return None


def _base_image(sbom: dict[str, Any]) -> tuple[str, str | None] | None:
    """The base image the SBOM names (its container component in the image): NAME:TAG, and
    its digest when the SBOM records one."""
    for component in sbom.get("components", []):
        if component.get("type") == "container" and component.get("scope") != "excluded":
            hashes = [entry.get("content") for entry in component.get("hashes", []) if entry.get("alg") == "SHA-256"]
            return f"{component.get('name')}:{component.get('version')}", f"sha256:{hashes[0]}" if hashes else None
    return None


def _same_base(label: str | None, base: tuple[str, str | None] | None) -> bool:
    """Whether the base.name label (NAME:TAG, @DIGEST when the spec pins one) is the SBOM's base."""
    if label is None or base is None:
        return False
    named, _, pinned = label.partition("@")
    return named == base[0] and (not pinned or pinned == base[1])


def _image_against_sbom(report: Report, client: RegistryClient, platform: Platform, sbom: dict[str, Any]) -> None:
    manifest = json.loads(client.manifest(platform.digest) or b"{}")
    config = json.loads(client.blob(manifest["config"]["digest"]))
    labels = config.get("config", {}).get("Labels") or {}
    files = _last_layer_files(client, manifest, (RELEASE_FILE, SBOM_IMAGE_PATH))
    where = platform.name
    release_text = files.get(RELEASE_FILE)
    if release_text is None:
        report.add(f"release file {where}", False, f"no {RELEASE_FILE} in the image's last layer")
        return
    release = release_fields(release_text.decode("utf-8", "replace"))
    said = sbom.get("metadata", {}).get("component", {}).get("name")
    profile = _property(sbom, "sandbox:profile")
    platforms = [name.strip() for name in (_property(sbom, "sandbox:platforms") or "").split(",")]
    problems = []
    if release.get("NAME") != said:
        problems.append(f"NAME {release.get('NAME')!r}, the SBOM's image {said!r}")
    if release.get("PROFILE") != profile:
        problems.append(f"PROFILE {release.get('PROFILE')!r}, the SBOM's profile {profile!r}")
    if platform.name not in platforms:
        problems.append(f"platform {platform.name} is not among the SBOM's ({', '.join(platforms)})")
    report.add(
        f"release file {where}", not problems, "; ".join(problems) or f"{release.get('NAME')} {release.get('VERSION')}, profile {profile}"
    )
    problems = [
        f"{_LABEL}{label} {labels.get(_LABEL + label)!r}, the release file's {key} {release.get(key)!r}"
        for key, label in _RELEASE_LABELS.items()
        if labels.get(_LABEL + label) != release.get(key)
    ]
    base, label = _base_image(sbom), labels.get(_LABEL + "base.name")
    if not _same_base(label, base):
        problems.append(f"{_LABEL}base.name {label!r}, the SBOM's base image {base[0] if base else None!r}")
    report.add(f"labels {where}", not problems, "; ".join(problems) or f"version, revision, created, base.name {label}")
    inside = files.get(SBOM_IMAGE_PATH)
    if inside is None:
        report.add(f"sbom in image {where}", False, f"no {SBOM_IMAGE_PATH} in the image's last layer")
        return
    own = json.loads(inside)
    same = (own.get("components"), own.get("metadata", {}).get("component")) == (
        sbom.get("components"),
        sbom.get("metadata", {}).get("component"),
    )
    report.add(
        f"sbom in image {where}",
        same,
        f"the attached SBOM's {len(sbom.get('components', []))} components are the image's {SBOM_IMAGE_PATH}"
        if same
        else f"the attached SBOM's components differ from the image's {SBOM_IMAGE_PATH}: {_difference(own, sbom)}",
    )


def _difference(own: dict[str, Any], attached: dict[str, Any]) -> str:
    def refs(sbom: dict[str, Any]) -> set[str]:
        return {f"{c.get('name')}@{c['version']}" if c.get("version") else str(c.get("name")) for c in sbom.get("components", [])}

    missing, extra = sorted(refs(own) - refs(attached)), sorted(refs(attached) - refs(own))
    parts = [f"missing {', '.join(missing)}" if missing else "", f"not in the image {', '.join(extra)}" if extra else ""]
    return "; ".join(part for part in parts if part) or "same names and versions, other details"

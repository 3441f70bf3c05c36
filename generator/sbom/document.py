"""`sandbox sbom`: what the image of one profile contains, from sandbox.yaml and
sandbox.lock alone (no build), as CycloneDX 1.6 or SPDX 2.3 JSON.

Each install method says what it contributes (``ToolBase.sbom_components``: purl,
downloads with the digests the spec or the lock holds, how it is verified); this module
only adds the images and lays the components out in either format. The output is plain
JSON built here, so the command imports no SBOM library; the tests validate it with the
official ones. The same spec and lock always give the same bytes: components are sorted,
the serial number is derived from the content, and the only timestamp is
SOURCE_DATE_EPOCH's (SPDX requires one: without the variable it is the epoch itself).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from generator.epoch import source_date_epoch
from generator.errors import UsageError
from generator.lockfile import Lock
from generator.methods.base import FIRST_USE, SbomComponent, SbomDownload
from generator.methods.context import RenderContext
from generator.methods.distribution import base_components
from generator.purl import purl
from generator.spec import Spec

TOOL_NAME = "opencode-sandbox"
#: uuid5 namespace of the serial numbers (any fixed UUID will do; this one is uuid5(URL, TOOL_NAME))
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, TOOL_NAME)


@dataclass(frozen=True)
class Image:
    """A container image the build uses: the base of the final stage, or a builder."""

    reference: str
    name: str
    tag: str
    digest: str | None
    #: where the digest comes from: sandbox.yaml or sandbox.lock
    digest_from: str | None
    builder: bool

    @property
    def purl(self) -> str:
        """pkg:docker/NAMESPACE/NAME@DIGEST?tag=TAG, or @TAG while no digest is known."""
        first, _, rest = self.name.partition("/")
        registry = first if rest and ("." in first or ":" in first or first == "localhost") else None
        path = rest if registry else self.name
        namespace, _, name = path.rpartition("/")
        qualifiers = {"repository_url": f"{registry}/{path}" if registry else "", "tag": self.tag if self.digest else ""}
        return purl("docker", name, self.digest or self.tag, namespace=namespace or None, qualifiers=qualifiers)


def _image(reference: str, lock: Lock, builder: bool) -> Image:
    tagged, _, pinned = reference.partition("@")
    name, _, tag = tagged.rpartition(":")
    locked = None if pinned else lock.images.get(tagged)
    return Image(
        reference=reference,
        name=name,
        tag=tag,
        digest=pinned or locked,
        digest_from="sandbox.yaml" if pinned else "sandbox.lock" if locked else None,
        builder=builder,
    )


@dataclass(frozen=True)
class Inventory:
    spec: Spec
    profile: str
    images: tuple[Image, ...]
    components: tuple[SbomComponent, ...]


def inventory(spec: Spec, lock: Lock, profile: str | None = None) -> Inventory:
    profile = profile or spec.default_profile
    if profile not in spec.profiles:
        raise UsageError(f"unknown profile {profile!r}; the spec declares: {', '.join(spec.profiles)}")
    ctx = RenderContext(spec, profile, lock)
    tools = spec.tools_for(profile)
    components = base_components(ctx)
    for tool in tools:
        components += tool.sbom_components(ctx)
    base = spec.base
    images = [_image(f"{base.image}:{base.tag}" + (f"@{base.digest}" if base.digest else ""), lock, builder=False)]
    builders = sorted({ref for tool in tools if (ref := tool.builder_image(ctx))})
    images += [_image(ref, lock, builder=True) for ref in builders]
    return Inventory(spec, profile, tuple(images), tuple(sorted(components, key=lambda c: (c.name, c.tool, c.purl))))


# -- shared helpers ---------------------------------------------------------------------


def _created() -> str | None:
    moment = source_date_epoch()
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _serial(document: dict[str, Any]) -> uuid.UUID:
    """A UUID derived from the document's content: the same content, the same serial."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return uuid.uuid5(_NAMESPACE, hashlib.sha256(canonical).hexdigest())


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("opencode-sandbox")
    except PackageNotFoundError:
        return "0"


def _dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _refs(components: tuple[SbomComponent, ...]) -> list[str]:
    """A unique, stable reference per component (the same package may come from two tools)."""
    refs: list[str] = []
    seen: set[str] = set()
    for c in components:
        ref = f"{c.tool}:{c.purl}"
        base, n = ref, 1
        while ref in seen:
            n += 1
            ref = f"{base}#{n}"
        seen.add(ref)
        refs.append(ref)
    return refs


# -- CycloneDX 1.6 ----------------------------------------------------------------------


def _digest_source(d: SbomDownload) -> str:
    """Where a download's sha256 comes from, and whether the lock took it on first use."""
    return f"{d.sha256_from}, {FIRST_USE}" if d.first_use else str(d.sha256_from)


def _cdx_hashes(sha256: str | None) -> list[dict[str, str]]:
    return [{"alg": "SHA-256", "content": sha256}] if sha256 else []


def _cdx_component(c: SbomComponent, ref: str) -> dict[str, Any]:
    references = []
    for d in c.downloads:
        entry: dict[str, Any] = {
            "type": "distribution",
            "url": d.url,
            "comment": f"{d.key}" + (f"; sha256 from {_digest_source(d)}" if d.sha256 else "; no sha256 pinned"),
        }
        if d.sha256:
            entry["hashes"] = _cdx_hashes(d.sha256)
        references.append(entry)
    if c.vcs:
        url, commit = c.vcs
        references.append({"type": "vcs", "url": url, **({"comment": f"commit {commit}"} if commit else {})})
    properties = [
        ("sandbox:tool", c.tool),
        ("sandbox:method", c.method),
        ("sandbox:verification", c.verification),
        *((f"sandbox:{key}", value) for key, value in c.properties),
    ]
    component: dict[str, Any] = {"type": c.kind, "bom-ref": ref, "name": c.name}
    if c.version:
        component["version"] = c.version
    component["purl"] = c.purl
    if references:
        component["externalReferences"] = references
    component["properties"] = [{"name": k, "value": v} for k, v in sorted(properties)]
    return component


def _cdx_image(image: Image) -> dict[str, Any]:
    role = (
        "builder image: its stages compile tools whose binaries are copied out; not in the final image"
        if image.builder
        else "base image of the final stage"
    )
    component: dict[str, Any] = {
        "type": "container",
        "bom-ref": f"image:{image.reference}",
        "name": image.name,
        "version": image.tag,
        "purl": image.purl,
    }
    if image.builder:
        component["scope"] = "excluded"
    if image.digest:
        component["hashes"] = _cdx_hashes(image.digest.removeprefix("sha256:"))
    properties = [
        ("sandbox:role", role),
        ("sandbox:digest", f"{image.digest} from {image.digest_from}" if image.digest else "none: pulled by tag"),
    ]
    component["properties"] = [{"name": k, "value": v} for k, v in properties]
    return component


def cyclonedx(inv: Inventory) -> str:
    spec = inv.spec
    refs = _refs(inv.components)
    images = [_cdx_image(i) for i in inv.images]
    components = images + [_cdx_component(c, ref) for c, ref in zip(inv.components, refs, strict=True)]
    metadata: dict[str, Any] = {}
    created = _created()
    if created:
        metadata["timestamp"] = created
    metadata["tools"] = {"components": [{"type": "application", "name": TOOL_NAME, "version": _version()}]}
    metadata["component"] = {
        "type": "container",
        "bom-ref": "image",
        "name": spec.image.name,
        "description": spec.image.labels.description,
        "properties": [
            {"name": "sandbox:profile", "value": inv.profile},
            {"name": "sandbox:platforms", "value": ", ".join(spec.platforms)},
        ],
    }
    in_image = [i["bom-ref"] for i in images if "scope" not in i] + refs
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": metadata,
        "components": components,
        "dependencies": [{"ref": "image", "dependsOn": sorted(in_image)}],
    }
    serial = _serial(document)
    return _dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "serialNumber": f"urn:uuid:{serial}", **document})


# -- SPDX 2.3 ---------------------------------------------------------------------------


def _spdx_id(text: str, seen: set[str]) -> str:
    ident = "SPDXRef-" + re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-")
    base, n = ident, 1
    while ident in seen:
        n += 1
        ident = f"{base}-{n}"
    seen.add(ident)
    return ident


def _spdx_package(
    ident: str, name: str, version: str | None, location: str, sha256: str | None, purl_: str, comment: str, purpose: str
) -> dict[str, Any]:
    package: dict[str, Any] = {"SPDXID": ident, "name": name}
    if version:
        package["versionInfo"] = version
    package["downloadLocation"] = location
    package["filesAnalyzed"] = False
    if sha256:
        package["checksums"] = [{"algorithm": "SHA256", "checksumValue": sha256}]
    package["externalRefs"] = [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl_}]
    package["comment"] = comment
    package["primaryPackagePurpose"] = purpose
    return package


def spdx(inv: Inventory) -> str:
    spec = inv.spec
    seen: set[str] = set()
    root = _spdx_id("image", seen)
    packages = [
        {
            "SPDXID": root,
            "name": spec.image.name,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "description": spec.image.labels.description,
            "comment": f"profile {inv.profile}; platforms {', '.join(spec.platforms)}",
            "primaryPackagePurpose": "CONTAINER",
        }
    ]
    relationships = [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": root}]
    for image in inv.images:
        ident = _spdx_id(f"image-{image.reference}", seen)
        digest = f"digest {image.digest} from {image.digest_from}" if image.digest else "no digest: pulled by tag"
        role = "builder image (not in the final image)" if image.builder else "base image"
        packages.append(
            _spdx_package(ident, image.name, image.tag, "NOASSERTION", image.digest.removeprefix("sha256:") if image.digest else None,
                          image.purl, f"{role}; {digest}", "CONTAINER")
        )  # fmt: skip
        kind = "BUILD_TOOL_OF" if image.builder else "DESCENDANT_OF"
        pair = (ident, root) if image.builder else (root, ident)
        relationships.append({"spdxElementId": pair[0], "relationshipType": kind, "relatedSpdxElement": pair[1]})
    for c in inv.components:
        about = f"tool {c.tool} ({c.method}); verification: {c.verification}" + "".join(f"; {k}: {v}" for k, v in c.properties)
        if c.downloads:
            # SPDX has one download location per package: one package per download (per platform)
            entries = [
                (
                    f"{c.tool}-{c.name}-{d.key}",
                    d.url,
                    d.sha256,
                    f"{about}; download {d.key}" + (f", sha256 from {_digest_source(d)}" if d.sha256 else ", no sha256 pinned"),
                )
                for d in c.downloads
            ]
        else:
            location = f"git+{c.vcs[0]}@{c.vcs[1]}" if c.vcs and c.vcs[1] else "NOASSERTION"
            entries = [(f"{c.tool}-{c.name}", location, None, about)]
        for key, location, sha256, comment in entries:
            ident = _spdx_id(key, seen)
            packages.append(_spdx_package(ident, c.name, c.version, location, sha256, c.purl, comment, "APPLICATION"))
            relationships.append({"spdxElementId": root, "relationshipType": "CONTAINS", "relatedSpdxElement": ident})
    document = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{spec.image.name} ({inv.profile})",
        "creationInfo": {
            "created": _created() or "1970-01-01T00:00:00Z",
            "creators": [f"Tool: {TOOL_NAME}-{_version()}"],
            "comment": "From sandbox.yaml and sandbox.lock, without a build: versions are the spec's pins, "
            "digests those the spec or the lock records.",
        },
        "packages": packages,
        "relationships": relationships,
    }
    serial = _serial(document)
    name = re.sub(r"[^A-Za-z0-9.-]+", "-", spec.image.name)
    return _dumps({**document, "documentNamespace": f"https://spdx.org/spdxdocs/{name}-{inv.profile}-{serial}"})


def render(spec: Spec, lock: Lock, profile: str | None = None, fmt: str = "cyclonedx") -> str:
    inv = inventory(spec, lock, profile)
    return cyclonedx(inv) if fmt == "cyclonedx" else spdx(inv)

"""Attach the SBOM and a signature to an image in its registry, and where they are found.

Each is an OCI artifact whose ``subject`` is the image's manifest (or index): a referrer for a
registry that keeps them, and found under a tag named after the digest where none does
(distribution 2.8, Docker Hub): ``sha256-HEX.sbom`` as cosign names an attached SBOM, and
``sha256-HEX.simple-signing`` for the signature (not cosign's ``.sig``: the format differs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from generator.attest import signing
from generator.attest.registry import Pinned, RegistryClient
from generator.errors import UpstreamError

#: CycloneDX JSON's registered media type
SBOM_TYPE = "application/vnd.cyclonedx+json"
#: a containers simple-signing signature (an OpenPGP message); a type of this project's own,
#: since the format has none registered
SIGNATURE_TYPE = "application/vnd.opencode-sandbox.simple-signing.v1+pgp"


def sbom_tag(digest: str) -> str:
    return f"{digest.replace(':', '-')}.sbom"


def signature_tag(digest: str) -> str:
    return f"{digest.replace(':', '-')}.simple-signing"


@dataclass(frozen=True)
class Attached:
    what: str
    reference: str
    digest: str

    def __str__(self) -> str:
        return f"attached {self.what} as {self.reference} ({self.digest})"


def attach(image: Pinned, sbom: str, sign_by: str | None = None) -> list[Attached]:
    """Push ``sbom`` (CycloneDX JSON) and, with ``sign_by`` (a key fingerprint of the caller's
    GnuPG keyring), a simple-signing signature of ``image`` as its repository's name."""
    client = RegistryClient(image.repository)
    manifest = client.manifest(image.digest)
    if manifest is None:
        raise UpstreamError(f"{image}: the registry has no such manifest")
    subject = {"mediaType": json.loads(manifest).get("mediaType", ""), "digest": image.digest, "size": len(manifest)}
    if sign_by:
        # made before anything is pushed: a key that cannot sign leaves no half attachment
        signature = signing.sign(manifest, image.repository.name, sign_by)
    done = []
    tag = sbom_tag(image.digest)
    digest = client.push_artifact(tag, SBOM_TYPE, sbom.encode("utf-8"), subject)
    done.append(Attached("the SBOM", f"{image.repository.name}:{tag}", digest))
    if sign_by:
        tag = signature_tag(image.digest)
        digest = client.push_artifact(tag, SIGNATURE_TYPE, signature, subject)
        done.append(Attached(f"a signature by {sign_by}", f"{image.repository.name}:{tag}", digest))
    return done

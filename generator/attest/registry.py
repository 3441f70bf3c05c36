"""An OCI registry read and written through oras-py (the ORAS project's client: the registry
API, its token and basic authentication from the docker configuration, blob uploads).

Only what the attachments need: a manifest and a blob by digest (each checked against its
digest), and an artifact manifest pushed under a tag with a ``subject`` (an OCI 1.1 referrer
where the registry keeps them; found by its tag where it does not, as distribution 2.8).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import UpstreamError, UsageError
from generator.fields import IMAGE_NAME_PATTERN

#: what a manifest request accepts: an index is returned as it is, not resolved to one platform
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = MANIFEST_TYPES[:2]
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
#: the config of an artifact that has none (OCI image spec 1.1)
EMPTY_CONFIG_TYPE, EMPTY_CONFIG = "application/vnd.oci.empty.v1+json", b"{}"
#: Docker Hub's API host, and the key `docker login` stores its credentials under
DOCKER_HUB_API, DOCKER_HUB_INDEX = "registry-1.docker.io", "https://index.docker.io/v1/"
#: seconds one request to the registry may take
TIMEOUT = 60.0
#: the hosts the engines talk to over plain HTTP without being told (as Docker does)
_LOOPBACK = re.compile(r"(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?")
_PINNED = re.compile(rf"(?P<name>{IMAGE_NAME_PATTERN})(:[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?@(?P<digest>sha256:[0-9a-f]{{64}})")


@dataclass(frozen=True)
class Repository:
    """An image repository: ``name`` as written (what a signature names), and where its API is."""

    name: str
    host: str
    path: str

    @classmethod
    def parse(cls, name: str) -> Repository:
        first, _, rest = name.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            host, path = first, rest
        else:
            host, path = "docker.io", name
        if host in ("docker.io", "index.docker.io"):
            # Docker Hub's API host, and its official images' namespace
            host, path = DOCKER_HUB_API, path if "/" in path else f"library/{path}"
        return cls(name, host, path)

    @property
    def plain_http(self) -> bool:
        return bool(_LOOPBACK.fullmatch(self.host))


@dataclass(frozen=True)
class Pinned:
    """NAME@sha256:DIGEST (a tag between them is allowed and ignored: the digest decides)."""

    repository: Repository
    digest: str

    @classmethod
    def parse(cls, text: str, what: str = "IMAGE") -> Pinned:
        match = _PINNED.fullmatch(text)
        if not match:
            raise UsageError(f"{what}: {text!r} is not NAME@sha256:<64 hex digits> (an image pinned by its digest)")
        return cls(Repository.parse(match["name"]), match["digest"])

    def __str__(self) -> str:
        return f"{self.repository.name}@{self.digest}"


def sha256_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def descriptor(media_type: str, data: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256_of(data), "size": len(data)}


class NotTheArtifact(Exception):
    """A tag named after an image's digest holds something else than its attachment: another
    kind of artifact, or one about another image. A failed check, not a registry failure."""


class RegistryClient:
    """One repository's registry, through oras-py, one attempt per request (oras-py's own retry
    waits up to two minutes for a registry that is not there) and a deadline on each."""

    def __init__(self, repository: Repository, timeout: float = TIMEOUT) -> None:
        import oras.container
        import oras.provider

        self.repository = repository
        self.timeout = timeout
        self._oras = oras.provider.Registry(hostname=repository.host, insecure=repository.plain_http)
        self._container = oras.container.Container(repository.path, registry=repository.host)
        # requests has no session-wide timeout: every request of this session gets ours
        request = self._oras.session.request
        self._oras.session.request = lambda *args, **kwargs: request(*args, **{"timeout": timeout, **kwargs})
        self._load_credentials()

    def _load_credentials(self) -> None:
        """What `docker login` stored for this registry ($DOCKER_CONFIG/config.json, else
        ~/.docker/config.json; inline or through a credential helper), used when the registry
        asks; none: anonymous, as for a public image."""
        config = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"
        auth = self._oras.auth
        auth.load_configs(self._container, configs=[str(config)] if config.is_file() else None)
        if self.repository.host == DOCKER_HUB_API:
            # docker stores Docker Hub's under its index URL; oras-py looks up the API host only
            auth._load_auth(DOCKER_HUB_INDEX)

    def _request(self, method: str, url: str, **kwargs: Any) -> Any:
        import oras.provider

        once = oras.provider.Registry.do_request.__wrapped__
        try:
            return once(self._oras, url, method, **kwargs)
        except Exception as exc:  # noqa: BLE001 - requests, oras' authentication: the registry failed us
            raise UpstreamError(f"{self.repository.host}: {method} {url.split('/v2/', 1)[-1]} failed: {exc}") from None

    def _url(self, kind: str, reference: str) -> str:
        return f"{self._oras.prefix}://{self.repository.host}/v2/{self.repository.path}/{kind}/{reference}"

    def manifest(self, reference: str) -> bytes | None:
        """The manifest (or index) a tag or digest names, byte for byte; None when there is none.
        By digest, its bytes must have that digest."""
        answer = self._request("GET", self._url("manifests", reference), headers={"Accept": ", ".join(MANIFEST_TYPES)})
        if answer.status_code == 404:
            return None
        self._ok(answer, f"the manifest {reference}")
        # oras (and the requests response it hands back) ship no types: the body is bytes
        body: bytes = answer.content
        if reference.startswith("sha256:") and sha256_of(body) != reference:
            raise UpstreamError(f"{self.repository.name}: the registry answered {reference} with a manifest of digest {sha256_of(body)}")
        return body

    def blob(self, digest: str) -> bytes:
        """The blob ``digest`` names, checked against it."""
        answer = self._request("GET", self._url("blobs", digest))
        self._ok(answer, f"the blob {digest}")
        body: bytes = answer.content
        if sha256_of(body) != digest:
            raise UpstreamError(f"{self.repository.name}: the blob {digest} the registry sent has another digest")
        return body

    def push_artifact(self, tag: str, artifact_type: str, payload: bytes, subject: dict[str, Any]) -> str:
        """Push ``payload`` as an OCI artifact (an image manifest with an empty config, one layer
        of ``artifact_type``, ``subject`` the image it is about) under ``tag``; its digest."""
        layer = descriptor(artifact_type, payload)
        config = descriptor(EMPTY_CONFIG_TYPE, EMPTY_CONFIG)
        with tempfile.TemporaryDirectory(prefix="sandbox-artifact-") as scratch:
            for data, described in ((payload, layer), (EMPTY_CONFIG, config)):
                path = Path(scratch) / described["digest"].replace(":", "-")
                path.write_bytes(data)
                try:
                    answer = self._oras.upload_blob(str(path), self._container, described)
                except Exception as exc:  # noqa: BLE001 - as in _request
                    raise UpstreamError(f"{self.repository.host}: uploading {described['digest']} failed: {exc}") from None
                self._ok(answer, f"the upload of {described['digest']}")
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": config,
            "layers": [layer],
            "subject": subject,
        }
        body = json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()
        answer = self._request("PUT", self._url("manifests", tag), data=body, headers={"Content-Type": OCI_MANIFEST})
        self._ok(answer, f"the push of {tag}")
        return sha256_of(body)

    def artifact(self, tag: str, artifact_type: str, subject: str) -> bytes | None:
        """The payload of the artifact under ``tag``, if it is one of ``artifact_type`` about
        ``subject`` (a digest); None when the tag does not exist; NotTheArtifact when it holds
        something else."""
        raw = self.manifest(tag)
        if raw is None:
            return None
        manifest = json.loads(raw)
        layers = manifest.get("layers") or []
        if manifest.get("subject", {}).get("digest") != subject:
            raise NotTheArtifact(f"{tag} is about {manifest.get('subject', {}).get('digest')}, not {subject}")
        if len(layers) != 1 or layers[0].get("mediaType") != artifact_type:
            raise UpstreamError(
                f"{self.repository.name}:{tag} is not one {artifact_type} (layers: {[entry.get('mediaType') for entry in layers]})"
            )
        return self.blob(layers[0]["digest"])

    def _ok(self, answer: Any, what: str) -> None:
        if answer.status_code >= 300:
            said = answer.text[:300].strip()
            raise UpstreamError(f"{self.repository.name}: {what}: HTTP {answer.status_code} {said}", status=answer.status_code)

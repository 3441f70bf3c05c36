"""The OCI distribution API (registry v2): digests and tags of images, anonymously.

Docker Hub (and most registries) answer an anonymous request with 401 and a
``WWW-Authenticate: Bearer realm=...,service=...`` challenge; a token from that realm
for ``repository:NAME:pull`` then opens the API. Nothing is hard-coded about Docker Hub's
auth host: the challenge names it, so a test registry on 127.0.0.1 works the same way.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from dataclasses import dataclass, field

from generator.errors import UpstreamError
from generator.supply.fetch import Http, Response
from generator.supply.upstreams import Upstreams

#: a multi-platform index is what an image:tag names; pinning it keeps every platform
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class ImageRef:
    host: str | None
    repository: str
    tag: str

    @classmethod
    def parse(cls, reference: str) -> ImageRef:
        name, _, tag = reference.split("@", 1)[0].rpartition(":")
        if not name or "/" in tag:
            raise UpstreamError(f"{reference}: expected image:tag")
        first, _, rest = name.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            return cls(first, rest, tag)
        return cls(None, name if "/" in name else f"library/{name}", tag)

    def __str__(self) -> str:
        return f"{self.host + '/' if self.host else ''}{self.repository}:{self.tag}"


@dataclass
class Registry:
    http: Http
    upstreams: Upstreams
    _tokens: dict[str, str] = field(default_factory=dict)

    def _get(self, ref: ImageRef, path: str, accept: str, method: str = "GET") -> Response:
        base = self.upstreams.registry_for(ref.host)
        url = f"{base}/v2/{ref.repository}/{path}"
        token = self._tokens.get(ref.repository)
        headers = {"Accept": accept, **({"Authorization": f"Bearer {token}"} if token else {})}
        try:
            return self.http.get(url, headers, method=method)
        except UpstreamError as exc:
            if token or exc.status != 401:
                raise
            challenge = exc.headers.get("WWW-Authenticate", "") if exc.headers else ""
        self._tokens[ref.repository] = self._token(url, challenge, ref)
        return self._get(ref, path, accept, method)

    def _token(self, url: str, challenge: str, ref: ImageRef) -> str:
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = params.pop("realm", None)
        if not challenge.lower().startswith("bearer") or not realm:
            raise UpstreamError(
                f"{url}: the registry wants credentials; only anonymous pulls are supported ({challenge or 'no challenge'})"
            )
        query = {"scope": f"repository:{ref.repository}:pull"}
        if "service" in params:
            query["service"] = params["service"]
        data = self.http.get_json(f"{realm}?{urllib.parse.urlencode(query)}")
        token = (data.get("token") or data.get("access_token")) if isinstance(data, dict) else None
        if not token:
            raise UpstreamError(f"{realm}: the token answer holds no token")
        return str(token)

    def digest(self, reference: str) -> str:
        """The digest image:tag points at now (the multi-platform index when there is one)."""
        ref = ImageRef.parse(reference)
        response = self._get(ref, f"manifests/{ref.tag}", MANIFEST_TYPES, method="HEAD")
        digest = response.headers.get("Docker-Content-Digest", "")
        if not _DIGEST.fullmatch(digest):
            response = self._get(ref, f"manifests/{ref.tag}", MANIFEST_TYPES)
            digest = "sha256:" + hashlib.sha256(response.body).hexdigest()
        return digest

    def tags(self, reference: str) -> list[str]:
        ref = ImageRef.parse(reference)
        data = self._get(ref, "tags/list?n=10000", "application/json").json(str(ref))
        return [str(t) for t in (data.get("tags") or [])] if isinstance(data, dict) else []

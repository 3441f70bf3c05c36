"""deb: a vendor's .deb by URL, checked by sha256 in a fetch stage, installed by apt.

The package file is downloaded and checked against a pinned sha256 per architecture in a
stage of its own (``FROM base``, so BuildKit fetches it beside the other stages); the final
stage installs it with ``apt-get install /path/to/file.deb`` through a read-only bind mount
of that stage, so apt resolves its dependencies from the distribution's archive and the
.deb itself never lands in a layer.

What this method does not do: follow a vendor's apt repository (that is ``apt`` with
``repo:``, where apt checks signatures), or trust anything it cannot check by digest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import Field

from generator import placeholders
from generator.fields import DebUrl, Sha256, Version
from generator.methods.base import (
    FETCH_SCRIPT,
    Contribution,
    Finding,
    Issue,
    Phase,
    RenderContext,
    TemplateData,
    ToolBase,
    Upstream,
    Verification,
)
from generator.purl import github, purl

#: Docker's TARGETARCH values, which are also Debian's architecture names for these two
Arch = Literal["amd64", "arm64"]


class DebTool(ToolBase):
    phase: ClassVar[Phase] = Phase.SYSTEM

    method: Literal["deb"]
    #: the package's version, as the vendor names it in the URL
    version: Version
    #: the .deb; {version} and {arch} (amd64, arm64) are filled in (generator/placeholders.py)
    url: DebUrl
    #: sha256 of the .deb per architecture, computed from the real files
    sha256: dict[Arch, Sha256] = Field(min_length=1)

    def platform_issues(self, arches: list[str]) -> Iterator[Issue]:
        for arch in arches:
            if arch not in self.sha256:
                yield ("sha256",), f"no sha256 of the .deb for {arch}; every platform of the spec needs one"

    def base_packages_needed(self) -> tuple[str, ...]:
        # the fetch stage runs FROM base and downloads with curl
        return ("curl",)

    @property
    def digests(self) -> dict[str, str]:
        """The spec's sha256 per arch, looked up by the plain arch strings the context uses."""
        return {arch: digest for arch, digest in self.sha256.items()}

    def deb_url(self, arch: str) -> str:
        return placeholders.fill(self.url, {"version": self.version, "arch": arch})

    def downloads(self, ctx: RenderContext) -> list[tuple[str, str]]:
        return [(arch, self.deb_url(arch)) for arch in ctx.arches if arch in self.digests]

    def spec_sha256(self, key: str) -> str | None:
        return self.digests.get(key)

    def digest(self, ctx: RenderContext, arch: str) -> str:
        """sandbox.lock's digest while its URL matches, else the spec's (for an arch it has)."""
        return ctx.locked_sha256(self.name, arch, self.deb_url(arch)) or self.digests[arch]

    def verification(self, ctx: RenderContext) -> Verification:
        if all(ctx.locked_sha256(self.name, arch, self.deb_url(arch)) for arch in ctx.arches if arch in self.sha256):
            return self.first_use_verification(ctx, ".deb sha256") or Verification("pinned-digest", ".deb sha256 from sandbox.lock")
        return Verification("pinned-digest", ".deb sha256 in sandbox.yaml")

    def audit(self, ctx: RenderContext, unlocked: list[str]) -> list[Finding]:
        """Listed while enabled, like an installer script: a .deb's maintainer scripts
        (preinst, postinst) run as root during the build, and no distribution reviewed them."""
        found = super().audit(ctx, unlocked)
        if self.enabled:
            host = self.url.split("/", 3)[2]
            found.append(Finding(self.name, "vendor-package", f"a .deb from {host}: its maintainer scripts run as root in the build"))
        return found

    def upstream(self) -> Upstream | None:
        # a .deb published as a GitHub release asset has a release listing; any other URL
        # has none that can be asked without knowing the vendor (outdated says so)
        return Upstream("github-releases", self.url)

    def purl(self, ctx: RenderContext) -> str:
        """pkg:github/OWNER/REPO@TAG for a GitHub release asset, else pkg:generic/NAME@VERSION.

        Not pkg:deb: that type names a package of a distribution's archive (namespace debian
        or ubuntu), and scanners would match it against that distribution's security
        tracker, whose package of the same name (if any) is not this file."""
        url = self.deb_url(next(iter(self.sha256)))
        head, found, rest = url.partition("/releases/download/")
        tag = rest.rsplit("/", 1)[0] if found and "/" in rest else self.version
        return github(head if found else url, tag) or purl("generic", self.name, self.version)

    def base_scripts_needed(self) -> tuple[str, ...]:
        return (FETCH_SCRIPT,)

    def contribute(self, ctx: RenderContext) -> Contribution:
        stage = self.stage_name
        # where the stage leaves the file, and where the final stage's bind mount shows it
        fetched, mounted = "/out", f"/tmp/{stage}"
        return Contribution(
            body=DebInstall(
                name=self.name,
                version=self.version,
                stage=stage,
                fetched=fetched,
                mounted=mounted,
                file=f"{mounted}/{self.name}.deb",
            ),
            stage=DebFetch(
                name=self.name,
                version=self.version,
                stage=stage,
                verification=str(self.verification(ctx)),
                downloads=tuple(
                    DebDownload(arch, self.deb_url(arch), self.digest(ctx, arch)) for arch in ctx.arches if arch in self.sha256
                ),
                fetched=fetched,
                file=f"{fetched}/{self.name}.deb",
            ),
        )


@dataclass(frozen=True)
class DebDownload:
    arch: str
    url: str
    sha256: str


@dataclass(frozen=True)
class DebFetch(TemplateData):
    """The stage that downloads the .deb for the target platform and checks its sha256."""

    template: ClassVar[str] = "methods/deb-fetch.j2"

    name: str
    version: str
    stage: str
    verification: str
    downloads: tuple[DebDownload, ...]
    #: the directory the stage leaves the file in, and the file
    fetched: str
    file: str


@dataclass(frozen=True)
class DebInstall(TemplateData):
    """The final stage's RUN that installs the checked .deb through a bind mount of its stage."""

    template: ClassVar[str] = "methods/deb.j2"

    name: str
    version: str
    stage: str
    fetched: str
    #: where the bind mount shows the stage's directory, and the file there
    mounted: str
    file: str

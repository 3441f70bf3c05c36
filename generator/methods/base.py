"""The small interface every install method implements.

An install method is one pydantic model (the spec entry, with ``method: NAME`` as its
discriminator) plus one template partial under ``templates/methods/``. The renderer asks
the model for template data; the template only lays it out. Nothing else in the
generator knows about individual methods, except the one registry line in
``generator/methods/__init__.py``.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

from generator.fields import BinaryName, CommandWord, Name, Reason, Text
from generator.methods.context import RenderContext


class Phase(IntEnum):
    """Where a method's instructions go. Lower phases come first."""

    #: its own stage (download + verify, clone, compile); results are COPY'd into the image
    STAGE = 10
    #: a RUN in the final stage as root, before the user exists
    SYSTEM = 20
    #: a RUN in the final stage as the user: language toolchains
    TOOLCHAIN = 30
    #: a RUN in the final stage as the user: tools that need a toolchain
    USER = 40


@dataclass(frozen=True)
class Copy:
    """A COPY --from into the final image."""

    stage: str
    source: str
    dest: str
    as_user: bool = False


@dataclass(frozen=True)
class Verification:
    """How a tool's bytes are checked: shown by `sandbox list` and `sandbox audit`."""

    #: pinned-digest, checksum-file, package-manager, git-commit, unverified
    kind: str
    detail: str = ""

    @property
    def strong(self) -> bool:
        return self.kind in {"pinned-digest", "git-commit", "package-manager"}

    def __str__(self) -> str:
        return f"{self.kind} ({self.detail})" if self.detail else self.kind


@dataclass(frozen=True)
class SbomDownload:
    """One file the build fetches for a component: the key `sandbox lock` files it under
    (an arch such as amd64, or a name such as script), its URL, and its sha256 when
    sandbox.lock or sandbox.yaml has one (never computed or guessed)."""

    key: str
    url: str
    sha256: str | None = None
    #: where the sha256 comes from: sandbox.lock or sandbox.yaml
    sha256_from: str | None = None


@dataclass(frozen=True)
class SbomComponent:
    """What `sandbox sbom` lists for one piece of the image, whatever the output format."""

    name: str
    #: the version the spec pins (for apt, the pin as written); None when it pins none
    version: str | None
    purl: str
    #: the tool of the spec this comes from (an apt tool gives one component per package)
    tool: str
    method: str
    verification: str
    downloads: tuple[SbomDownload, ...] = ()
    #: a source checkout: (repository URL, commit)
    vcs: tuple[str, str | None] | None = None
    #: application, library, container, ... (CycloneDX's component types)
    kind: str = "application"
    #: extra facts, shown as properties (sandbox:KEY)
    properties: tuple[tuple[str, str], ...] = ()


@dataclass
class Contribution:
    """What one tool adds to the Dockerfile: rendered by the generic renderer."""

    body: dict[str, Any]
    copies: list[Copy] = field(default_factory=list)
    #: directories under the home this step writes through (cache-mount targets): the
    #: renderer creates them owned by the user first, because BuildKit would otherwise
    #: leave root-owned mount points in the image
    dirs: list[str] = field(default_factory=list)


def q(value: str) -> str:
    """Quote one shell word."""
    return shlex.quote(value)


class ToolBase(BaseModel):
    """Fields every tool has, whatever its install method."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template: ClassVar[str]
    phase: ClassVar[Phase]

    name: Name
    description: Text | None = None
    enabled: bool = True
    #: why the tool is disabled; required when enabled is false
    disabled_reason: Reason | None = None
    #: the profiles this tool is part of; omitted means every profile
    profiles: list[Name] | None = None
    #: the smoke test's version check, e.g. [rg, --version]; omitted means no check
    check: list[CommandWord] | None = None
    #: commands this tool puts on PATH (used for dependency checks and the smoke test)
    provides: list[BinaryName] = []
    #: free-form remark: unconfirmed facts, upstream caveats
    note: Reason | None = None

    @model_validator(mode="after")
    def _disabled_needs_reason(self) -> ToolBase:
        if not self.enabled and not self.disabled_reason:
            raise ValueError("a disabled tool needs disabled_reason: say why it is off")
        return self

    # -- what subclasses provide -------------------------------------------------------
    requires: ClassVar[tuple[str, ...]] = ()

    def shown_version(self) -> str:
        return str(getattr(self, "version", "") or "")

    def commands(self) -> list[str]:
        """Commands this tool puts on PATH."""
        return list(self.provides)

    def platform_issues(self, arches: list[str]) -> Iterator[tuple[tuple[str, ...], str]]:
        """Problems with covering the spec's platforms (located relative to the tool)."""
        return iter(())

    def base_packages_needed(self) -> tuple[str, ...]:
        """apt packages this tool's own stage needs from the base stage (it is built
        FROM base, so a tool installed later in the final stage does not help)."""
        return ()

    def verification(self, ctx: RenderContext) -> Verification:
        raise NotImplementedError

    def downloads(self, ctx: RenderContext) -> list[tuple[str, str]]:
        """(key, url) of each file the build fetches for this tool outside a package manager;
        `sandbox lock` records its sha256 under the key (an arch such as amd64, or a name)."""
        return []

    def contribute(self, ctx: RenderContext) -> Contribution:
        raise NotImplementedError

    # -- the SBOM (`sandbox sbom`); defaults fit a tool with one version and no purl type --
    def purl(self, ctx: RenderContext) -> str:
        from generator.purl import purl

        return purl("generic", self.name, self.shown_version() or None)

    def spec_sha256(self, key: str) -> str | None:
        """The sha256 sandbox.yaml pins for the download filed under ``key``, if any."""
        return None

    def sbom_downloads(self, ctx: RenderContext) -> tuple[SbomDownload, ...]:
        """Each download with its digest: sandbox.lock's (while its URL matches), else the spec's."""
        found = []
        for key, url in self.downloads(ctx):
            locked = ctx.locked_sha256(self.name, key, url)
            pinned = None if locked else self.spec_sha256(key)
            source = "sandbox.lock" if locked else "sandbox.yaml" if pinned else None
            found.append(SbomDownload(key, url, locked or pinned, source))
        return tuple(found)

    def builder_image(self, ctx: RenderContext) -> str | None:
        """The builder image this tool's stage is built FROM, if not the base image."""
        return None

    def sbom_components(self, ctx: RenderContext) -> list[SbomComponent]:
        return [
            SbomComponent(
                name=self.name,
                version=self.shown_version() or None,
                purl=self.purl(ctx),
                tool=self.name,
                method=self.method,  # type: ignore[attr-defined]
                verification=str(self.verification(ctx)),
                downloads=self.sbom_downloads(ctx),
            )
        ]

    def in_profile(self, profile: str) -> bool:
        return self.enabled and (self.profiles is None or profile in self.profiles)

    @property
    def stage_name(self) -> str:
        return f"{self.method}-{self.name}".replace(".", "-").replace("_", "-")  # type: ignore[attr-defined]

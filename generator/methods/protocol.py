"""The install-method boundary: every hook the rest of the generator may call on a tool,
split by concern into small protocols.

- ``ToolEntry``: the spec entry itself and the checks across its fields (the spec, `list`);
- ``RenderHooks``: what the renderer asks to lay out the tool's block or stage;
- ``SupplyHooks``: downloads, their verification and upstream (`lock`, `audit`,
  `outdated`, `update`);
- ``SbomHooks``: what `sandbox sbom` records.

``InstallMethod`` is all four: the type of a spec's tools. A caller that needs one concern
names that protocol. ``generator.methods.base.ToolBase`` implements every hook with a
default that fits a tool downloading nothing; a method overrides what differs. ``REGISTRY``
(generator/methods/registry.py) is typed against ``InstallMethod``, so mypy checks each
registered class against every protocol, and ``tests/test_method_boundary.py`` checks the
same at run time and that nothing outside ``generator/methods/`` branches on methods.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from generator.methods.context import RenderContext
from generator.methods.data import (
    Contribution,
    Finding,
    Phase,
    ResolvedPackages,
    SbomComponent,
    TemplateData,
    Tracked,
    Upstream,
    Verification,
)

if TYPE_CHECKING:
    from generator.supply.upstreams import Upstreams

#: (location relative to the tool, message), e.g. (("sha256",), "no sha256 for arm64")
Issue = tuple[tuple[str, ...], str]


@runtime_checkable
class ToolEntry(Protocol):
    """The spec entry and the checks across its fields: what the spec, `sandbox list` and
    the smoke test read of every tool."""

    #: commands that must be on PATH before this method runs (provided by another tool)
    requires: ClassVar[tuple[str, ...]]

    # read-only here: each method narrows `method` to its Literal["NAME"]
    @property
    def name(self) -> str:
        """The tool's name in the spec (unique)."""
        ...

    @property
    def method(self) -> str:
        """The discriminator: the method's registry name."""
        ...

    @property
    def enabled(self) -> bool:
        """False: the spec keeps the entry but the image leaves the tool out."""
        ...

    @property
    def disabled_reason(self) -> str | None:
        """Why a disabled tool is off."""
        ...

    @property
    def profiles(self) -> list[str] | None:
        """The profiles the tool is part of; None: all."""
        ...

    @property
    def check(self) -> list[str] | None:
        """The smoke test's version check, as argument words."""
        ...

    @property
    def note(self) -> str | None:
        """A free-form remark shown by `sandbox list`."""
        ...

    def in_profile(self, profile: str) -> bool:
        """Whether the tool is enabled and part of ``profile``."""
        ...

    # -- validation across fields ---------------------------------------------------------------
    def commands(self) -> list[str]:
        """Commands this tool puts on PATH (dependency checks, the smoke test)."""
        ...

    def platform_issues(self, arches: list[str]) -> Iterable[Issue]:
        """Problems with covering the spec's platforms (``arches``: amd64, arm64)."""
        ...

    def home_paths(self) -> Iterable[tuple[tuple[str, ...], str]]:
        """(location, path) of each path in the image that this tool names in the spec and
        that may be written ~/... (git: its dest); the spec refuses one in another user's home,
        as it does user.workspace."""
        ...


@runtime_checkable
class RenderHooks(Protocol):
    """What the renderer asks of a tool to lay out its block, its stage and what the base
    stage must hold for it."""

    #: where the body goes in the Dockerfile
    phase: ClassVar[Phase]

    @property
    def stage_name(self) -> str:
        """The name of the build stage this tool gets, if it gets one."""
        ...

    def base_packages_needed(self) -> tuple[str, ...]:
        """apt packages this tool's own stage needs from the base stage (it is built FROM
        base, so a tool installed later in the final stage does not help)."""
        ...

    def base_scripts_needed(self) -> tuple[str, ...]:
        """Scripts of the generator's files/ directory that this tool's stage runs: the base
        stage COPYs each once, and `sandbox build` puts it into the build context."""
        ...

    def contribute(self, ctx: RenderContext) -> Contribution:
        """What the tool's template lays out (typed, unquoted: the template quotes), COPYs
        into the final image, directories the user must own, and an optional stage of its own."""
        ...

    @classmethod
    def combine(cls, bodies: list[TemplateData]) -> list[TemplateData]:
        """The bodies of consecutive tools of this method (same phase), as the blocks to
        render: one block each unless the method merges them (apt: one RUN for all)."""
        ...

    def builder_image(self, ctx: RenderContext) -> str | None:
        """The image this tool's stage is built FROM, if not the base image: `sandbox lock`
        records its digest, `sandbox sbom` lists it as a build tool."""
        ...


@runtime_checkable
class SupplyHooks(Protocol):
    """What `sandbox lock`, `audit`, `outdated` and `update` ask of a tool: the files its
    build fetches, how their bytes are checked, and where newer versions are listed."""

    def verification(self, ctx: RenderContext) -> Verification:
        """How the tool's bytes are checked (`sandbox list`, `audit`, `sbom`)."""
        ...

    def downloads(self, ctx: RenderContext) -> list[tuple[str, str]]:
        """(key, url) of each file the build fetches outside a package manager; `sandbox
        lock` records its sha256 under the key (an arch such as amd64, or a name)."""
        ...

    def spec_sha256(self, key: str) -> str | None:
        """The sha256 sandbox.yaml pins for the download filed under ``key``, if any."""
        ...

    def checksum_file_for(self, key: str) -> tuple[str, str, str] | None:
        """(URL, format, file name) of the upstream checksum file the build would check the
        download filed under ``key`` against, if any: `sandbox lock` checks it too, so the
        lock never records a digest the spec's own verification rejects."""
        ...

    def audit(self, ctx: RenderContext, unlocked: list[str]) -> list[Finding]:
        """What `sandbox audit` lists for this tool: downloads unpinned or unverified, code
        it runs from upstream, versions that resolve at build time. ``unlocked``: keys of
        its downloads that sandbox.lock has no digest for."""
        ...

    # -- transitive locks (`sandbox lock` runs the tool's package manager) ----------------------
    def transitive_subject(self) -> str | None:
        """What the tool's package manager resolves into a transitive lock (e.g.
        "pnpm@12.21.0"); the build uses the lock only while this is unchanged. None: the
        method keeps no transitive lock."""
        ...

    def resolve_transitive(self, upstreams: Upstreams, workdir: Path) -> ResolvedPackages:
        """Run the package manager's own client against ``upstreams`` (in the empty
        directory ``workdir``) and return its lock files; UpstreamError when it fails."""
        ...

    # -- upstream (`sandbox outdated`, `sandbox update`) ---------------------------------------
    def upstream(self) -> Upstream | None:
        """Where newer versions are listed; None when no upstream is known."""
        ...

    def tracked(self) -> Tracked | None:
        """What `outdated` compares with upstream and `update` rewrites; None: not tracked."""
        ...


@runtime_checkable
class SbomHooks(Protocol):
    """What `sandbox sbom` records of a tool."""

    def shown_version(self) -> str:
        """The version people read in tables (may be a label such as 'distro')."""
        ...

    def purl(self, ctx: RenderContext) -> str:
        """The package URL that identifies what is installed."""
        ...

    def sbom_components(self, ctx: RenderContext) -> list[SbomComponent]:
        """What `sandbox sbom` lists for this tool (apt: one component per package)."""
        ...


@runtime_checkable
class InstallMethod(ToolEntry, RenderHooks, SupplyHooks, SbomHooks, Protocol):
    """Every hook: the type of a spec's tools (``generator.methods.registry.Tool``)."""


#: the protocols InstallMethod is made of, one per concern
CONCERNS: tuple[type, ...] = (ToolEntry, RenderHooks, SupplyHooks, SbomHooks)

"""ToolBase: the fields every tool has and the default of every hook.

An install method is one pydantic model (the spec entry, with ``method: NAME`` as its
discriminator), the frozen data its ``contribute`` hands out (``TemplateData`` subclasses,
each naming its template) and those templates under ``templates/methods/``. The hooks it may
override are declared, with what each one means, in ``generator/methods/protocol.py``;
the defaults here fit a tool that downloads nothing outside a package manager. Nothing
else in the generator knows about individual methods, except the one registry line in
``generator/methods/__init__.py``.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

from generator.fields import BinaryName, CommandWord, Name, Reason, Text
from generator.lockfile import Lock
from generator.methods.context import RenderContext
from generator.methods.data import (
    FIRST_USE,
    FIRST_USE_KIND,
    CacheMount,
    Contribution,
    Copy,
    Finding,
    Phase,
    Pin,
    ResolvedPackages,
    SbomComponent,
    SbomDownload,
    TemplateData,
    Tracked,
    Upstream,
    Verification,
)
from generator.methods.protocol import Issue
from generator.purl import purl as make_purl

if TYPE_CHECKING:
    from generator.supply.upstreams import Upstreams

__all__ = [
    "FETCH_SCRIPT",
    "FIRST_USE",
    "FIRST_USE_KIND",
    "UNVERIFIED_TRANSITIVE",
    "CacheMount",
    "Contribution",
    "Copy",
    "Finding",
    "Issue",
    "Phase",
    "Pin",
    "RenderContext",
    "ResolvedPackages",
    "SbomComponent",
    "SbomDownload",
    "Settings",
    "TemplateData",
    "ToolBase",
    "Tracked",
    "Upstream",
    "Verification",
    "fetch_check",
    "linked_commands",
    "lock_note",
]  # fmt: skip

#: files/sandbox-fetch: how every step of a generated Dockerfile downloads a file and checks its
#: sha256 (a method whose step fetches one names it in base_scripts_needed)
FETCH_SCRIPT = "sandbox-fetch"


def fetch_check(sha256: str | None) -> tuple[str, ...]:
    """sandbox-fetch's last arguments: the digest the file must have, or --unverified when
    the spec gives none (its reason is said beside the step)."""
    return ("--sha256", sha256) if sha256 else ("--unverified",)


#: what `sandbox audit` tells the user to do about a download sandbox.lock has no digest for
RUN_LOCK = "run `sandbox lock` where upstream is reachable"
#: the audit's kind for a package-manager tool whose dependencies float (no transitive lock)
UNVERIFIED_TRANSITIVE = "unverified-transitive"


def linked_commands(bin_dir: str, commands_dir: str, commands: tuple[str, ...]) -> tuple[str, ...]:
    """Each locked tool command's link target, relative to ``bin_dir`` (the link takes the
    command's name), so the links name the tool's prefix once and stay short."""
    return tuple(posixpath.relpath(f"{commands_dir}/{command}", bin_dir) for command in commands)


def lock_note(unlocked: list[str]) -> str:
    """The audit's remark on downloads that sandbox.lock has no digest for ('' if none)."""
    return f"no digest in sandbox.lock for {', '.join(unlocked)}" if unlocked else ""


class Settings(BaseModel):
    """A method's own part of a top-level section of sandbox.yaml (its builder image under
    ``builders:``, its rule under ``policy:``). The registry gathers them into the models
    the spec names, so a setting lives in the module of the method that reads it."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class ToolBase(BaseModel):
    """Fields every tool has, whatever its install method, and the hooks' defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    phase: ClassVar[Phase]
    requires: ClassVar[tuple[str, ...]] = ()

    if TYPE_CHECKING:
        # the discriminator, declared by each method as Literal["NAME"] (after the common
        # fields, whose order the schema and the error messages follow)
        method: str

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

    def in_profile(self, profile: str) -> bool:
        return self.enabled and (self.profiles is None or profile in self.profiles)

    @property
    def stage_name(self) -> str:
        return f"{self.method}-{self.name}".replace(".", "-").replace("_", "-")

    # -- validation across fields ------------------------------------------------------------
    def commands(self) -> list[str]:
        return list(self.provides)

    def platform_issues(self, arches: list[str]) -> Iterable[Issue]:
        return ()

    def home_paths(self) -> tuple[tuple[tuple[str, ...], str], ...]:
        return ()

    def base_packages_needed(self) -> tuple[str, ...]:
        return ()

    def base_scripts_needed(self) -> tuple[str, ...]:
        return ()

    # -- rendering ---------------------------------------------------------------------------
    def contribute(self, ctx: RenderContext) -> Contribution:
        raise NotImplementedError(f"{type(self).__name__} must say what it renders")

    @classmethod
    def combine(cls, bodies: list[TemplateData]) -> list[TemplateData]:
        return bodies

    def builder_image(self, ctx: RenderContext) -> str | None:
        return None

    # -- downloads and verification ----------------------------------------------------------
    def verification(self, ctx: RenderContext) -> Verification:
        raise NotImplementedError(f"{type(self).__name__} must say how its bytes are checked")

    def downloads(self, ctx: RenderContext) -> list[tuple[str, str]]:
        return []

    def spec_sha256(self, key: str) -> str | None:
        return None

    def checksum_file_for(self, key: str) -> tuple[str, str, str] | None:
        return None

    def audit(self, ctx: RenderContext, unlocked: list[str]) -> list[Finding]:
        """The findings that follow from verification() and the lock: a disabled tool that
        would fetch something unverified, a checksum file, an unverified download,
        downloads that neither the lock nor the spec has a digest for, and digests the lock
        took on first use."""
        verification = self.verification(ctx)
        if not self.enabled:
            # listed, so that switching it on is never how something unpinned slips in
            if verification.kind != "unverified":
                return []
            reason = f"disabled: {self.disabled_reason}; if enabled: {verification.detail}"
            return [Finding(self.name, "disabled-unpinned", reason)]
        note = lock_note(unlocked)
        found = []
        if verification.kind == "checksum-file":
            reason = "checksum file fetched at build time from the artifact's own host"
            found.append(Finding(self.name, "checksum-file", "; ".join(filter(None, [reason, note]))))
        elif verification.kind == "unverified":
            found.append(Finding(self.name, "unverified", "; ".join(filter(None, [verification.detail, note]))))
        elif unlocked and not all(self.spec_sha256(key) for key in unlocked):
            found.append(Finding(self.name, "no-lock-entry", f"{note}; {RUN_LOCK}"))
        subject = self.transitive_subject()
        if subject and not ctx.package_lock(self.name, subject):
            reason = f"{subject}: dependencies resolved at build time, unpinned (no transitive lock in sandbox.lock); {RUN_LOCK}"
            found.append(Finding(self.name, UNVERIFIED_TRANSITIVE, reason))
        return found + self.first_use_findings(ctx)

    # -- digests the lock took on first use (built on the hooks above; not hooks themselves) --
    def first_use_pins(self, ctx: RenderContext) -> tuple[Pin, ...]:
        """The downloads whose digest in sandbox.lock (for the URL the spec renders now) was
        checked against nothing independent when locked: no upstream checksum file (`sandbox
        lock` checks the digest against that one) and no equal sha256 in sandbox.yaml. The
        lock keeps no date: where each was recorded from is its URL."""
        pins = []
        for key, url in self.downloads(ctx):
            locked = ctx.locked_sha256(self.name, key, url)
            if locked and self.checksum_file_for(key) is None and self.spec_sha256(key) != locked:
                pins.append(Pin(key, url, locked))
        return tuple(pins)

    def first_use_verification(self, ctx: RenderContext, what: str) -> Verification | None:
        """How verification() describes ``what`` (e.g. "sha256") when some of the lock's
        digests were taken on first use; None when none was."""
        pins = self.first_use_pins(ctx)
        if not pins:
            return None
        scope = "" if len(pins) == len(self.downloads(ctx)) else f" for {', '.join(p.key for p in pins)}"
        return Verification(FIRST_USE_KIND, f"{what}{scope} {FIRST_USE}")

    def first_use_findings(self, ctx: RenderContext) -> list[Finding]:
        """The audit's pinned-on-first-use finding, with the spec's own reason when it marks
        the download unverified and a word on each sha256 of sandbox.yaml the lock disagrees with."""
        pins = self.first_use_pins(ctx)
        if not pins:
            return []
        # what the spec says of these bytes without the lock
        own = self.verification(dataclasses.replace(ctx, lock=Lock()))
        said = own.detail if own.kind == "unverified" else ""
        differ = [p.key for p in pins if self.spec_sha256(p.key)]
        differs = f"sandbox.yaml's sha256 for {', '.join(differ)} differs" if differ else ""
        verify = "to verify, compare with a digest published apart from the download and pin it in sandbox.yaml"
        reason = "; ".join(filter(None, [said, f"sha256 {FIRST_USE}", differs, verify]))
        return [Finding(self.name, FIRST_USE_KIND, reason, pins)]

    # -- transitive locks --------------------------------------------------------------------
    def transitive_subject(self) -> str | None:
        return None

    def resolve_transitive(self, upstreams: Upstreams, workdir: Path) -> ResolvedPackages:
        raise NotImplementedError(f"{type(self).__name__} keeps no transitive lock")

    # -- upstream ----------------------------------------------------------------------------
    def upstream(self) -> Upstream | None:
        return None

    def tracked(self) -> Tracked | None:
        """The tool's version, while it is enabled and has one."""
        version = getattr(self, "version", None)
        if not self.enabled or not version:
            return None
        return Tracked("version", version, self.upstream())

    # -- the SBOM (`sandbox sbom`); defaults fit a tool with one version and no purl type --
    def shown_version(self) -> str:
        return str(getattr(self, "version", "") or "")

    def purl(self, ctx: RenderContext) -> str:
        return make_purl("generic", self.name, self.shown_version() or None)

    def sbom_downloads(self, ctx: RenderContext) -> tuple[SbomDownload, ...]:
        """Each download with its digest: sandbox.lock's (while its URL matches), else the spec's."""
        found = []
        first_use = {pin.key for pin in self.first_use_pins(ctx)}
        for key, url in self.downloads(ctx):
            locked = ctx.locked_sha256(self.name, key, url)
            pinned = None if locked else self.spec_sha256(key)
            source = "sandbox.lock" if locked else "sandbox.yaml" if pinned else None
            found.append(SbomDownload(key, url, locked or pinned, source, key in first_use))
        return tuple(found)

    def sbom_components(self, ctx: RenderContext) -> list[SbomComponent]:
        return [
            SbomComponent(
                name=self.name,
                version=self.shown_version() or None,
                purl=self.purl(ctx),
                tool=self.name,
                method=self.method,
                verification=str(self.verification(ctx)),
                downloads=self.sbom_downloads(ctx),
            )
        ]

"""apt: Debian/Ubuntu packages, optionally from a vendor repository with a signed-by key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from generator.fields import AptPackage, Reason, Sha256, Url, _pattern
from generator.methods.base import (
    FETCH_SCRIPT,
    FIRST_USE,
    Contribution,
    Finding,
    Phase,
    RenderContext,
    SbomComponent,
    Settings,
    TemplateData,
    ToolBase,
    Verification,
    fetch_check,
    lock_note,
)
from generator.methods.distribution import DISTRIBUTION, deb_component

AptWord = Annotated[StrictStr, _pattern(r"[A-Za-z0-9][A-Za-z0-9._/-]*", "an apt suite or component")]


class AptRepo(BaseModel):
    """A vendor apt repository, trusted only for itself through signed-by."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    url: Url
    suite: AptWord
    components: list[AptWord] = ["main"]
    #: the repository's signing key (ASCII-armored or binary)
    key_url: Url
    #: sha256 of the key file, computed from the real file; omit only with key_unverified
    key_sha256: Sha256 | None = None
    key_unverified: Reason | None = None

    @model_validator(mode="after")
    def _key_checked(self) -> AptRepo:
        if not self.key_sha256 and not self.key_unverified:
            raise ValueError("give key_sha256 (computed from the real key) or key_unverified with a reason")
        return self


class AptPolicy(Settings):
    """The apt method's part of ``policy:``."""

    #: required: apt packages without a name=version pin (the apt tools' and base.packages)
    #: are listed by `sandbox audit`
    apt_pins: Literal["optional", "required"] = "optional"


class AptTool(ToolBase):
    phase: ClassVar[Phase] = Phase.SYSTEM

    method: Literal["apt"]
    #: packages, pinned as name=version where the spec's base allows it
    packages: list[AptPackage] = Field(min_length=1)
    repo: AptRepo | None = None
    #: why some packages are unpinned (rendered beside the hadolint DL3008 exception)
    unpinned_reason: Reason | None = None

    @model_validator(mode="after")
    def _pins_or_reason(self) -> AptTool:
        if self.unpinned_packages and not self.unpinned_reason:
            raise ValueError(f"unpinned packages ({', '.join(self.unpinned_packages)}): pin them as name=version or give unpinned_reason")
        return self

    @property
    def unpinned_packages(self) -> list[str]:
        return [p for p in self.packages if "=" not in p]

    def shown_version(self) -> str:
        pins = [p.split("=", 1)[1] for p in self.packages if "=" in p]
        return pins[0] if len(self.packages) == 1 and pins else ("pinned" if len(pins) == len(self.packages) else "distro")

    def commands(self) -> list[str]:
        return list(self.provides) or [p.split("=", 1)[0] for p in self.packages]

    def downloads(self, ctx: RenderContext) -> list[tuple[str, str]]:
        return [("key", self.repo.key_url)] if self.repo else []

    def spec_sha256(self, key: str) -> str | None:
        return self.repo.key_sha256 if key == "key" and self.repo else None

    def sbom_components(self, ctx: RenderContext) -> list[SbomComponent]:
        """One component per package; a vendor repository's key (and its digest) goes with each."""
        verification = str(self.verification(ctx))
        downloads = self.sbom_downloads(ctx)
        props = (("apt:repository", f"{self.repo.url} {self.repo.suite}"),) if self.repo else ()
        return [deb_component(ctx, p, self.name, verification, downloads, props) for p in self.packages]

    def verification(self, ctx: RenderContext) -> Verification:
        return Verification("package-manager", "apt, signed vendor repository") if self.repo else DISTRIBUTION

    def base_scripts_needed(self) -> tuple[str, ...]:
        # the repository's key is fetched through sandbox-fetch
        return (FETCH_SCRIPT,) if self.repo else ()

    def contribute(self, ctx: RenderContext) -> Contribution:
        source = None
        if self.repo:
            suffix = ".asc" if self.repo.key_url.endswith(".asc") else ".gpg"
            key_sha256 = ctx.locked_sha256(self.name, "key", self.repo.key_url) or self.repo.key_sha256
            source = AptSource(
                tool=self.name,
                url=self.repo.url,
                suite=self.repo.suite,
                components=tuple(self.repo.components),
                key_url=self.repo.key_url,
                key_sha256=key_sha256,
                key_check=fetch_check(key_sha256),
                key_unverified=None if key_sha256 else self.repo.key_unverified,
                key_first_use=FIRST_USE if self.first_use_pins(ctx) else None,
                keyring=f"/etc/apt/keyrings/{self.name}{suffix}",
                list_file=f"/etc/apt/sources.list.d/{self.name}.list",
            )
        return Contribution(
            body=AptPackages(
                name=self.name,
                packages=tuple(self.packages),
                package_names=tuple(p.split("=", 1)[0] for p in self.packages),
                unpinned_reason=self.unpinned_reason,
                source=source,
            )
        )

    def audit(self, ctx: RenderContext, unlocked: list[str]) -> list[Finding]:
        """A repository key checked by no digest is named as such; under `policy: {apt_pins:
        required}` unpinned packages are listed with the spec's reason."""
        if not self.enabled:
            return super().audit(ctx, unlocked)
        if unlocked and not all(self.spec_sha256(k) for k in unlocked) and self.repo and self.repo.key_unverified:
            found = [Finding(self.name, "unverified-key", f"apt repository key: {self.repo.key_unverified}; {lock_note(unlocked)}")]
        else:
            found = super().audit(ctx, unlocked)
        if ctx.spec.policy.apt_pins == "required" and self.unpinned_packages:
            found.append(Finding(self.name, "unpinned-apt", f"{', '.join(self.unpinned_packages)}: {self.unpinned_reason}"))
        return found

    @classmethod
    def combine(cls, bodies: list[TemplateData]) -> list[TemplateData]:
        """Consecutive apt tools as one RUN: one `apt-get update` and one dpkg run (with its
        trigger processing) instead of one per tool, because dpkg is most of a cold build
        (bench/). The price: a package added to any apt tool re-runs them all, where one RUN
        per tool re-ran that tool and the apt tools after it."""
        tools = [body for body in bodies if isinstance(body, AptPackages)]
        assert len(tools) == len(bodies), "an apt tool contributes AptPackages"
        return [
            AptRun(
                tools=tuple(tools),
                sources=tuple(tool.source for tool in tools if tool.source),
                unpinned_reasons=tuple(dict.fromkeys(tool.unpinned_reason for tool in tools if tool.unpinned_reason)),
                packages=tuple(dict.fromkeys(package for tool in tools for package in tool.packages)),
            )
        ]


@dataclass(frozen=True)
class AptSource:
    """A vendor repository as the RUN adds it: its key fetched (and checked) into a keyring,
    and a sources.list file that trusts the keyring for this repository only."""

    tool: str
    url: str
    suite: str
    components: tuple[str, ...]
    key_url: str
    #: sandbox.lock's or the spec's digest of the key; None: unchecked (see key_unverified)
    key_sha256: str | None
    #: sandbox-fetch's check of the key: --sha256 DIGEST, or --unverified
    key_check: tuple[str, ...]
    key_unverified: str | None
    #: how the comment names a key digest that sandbox.lock took on first use (None: not one)
    key_first_use: str | None
    keyring: str
    list_file: str


@dataclass(frozen=True)
class AptPackages(TemplateData):
    """One apt tool's part: never laid out alone, AptTool.combine merges consecutive ones."""

    name: str
    packages: tuple[str, ...]
    #: the packages without their pins, for the comment
    package_names: tuple[str, ...]
    unpinned_reason: str | None
    source: AptSource | None


@dataclass(frozen=True)
class AptRun(TemplateData):
    """Consecutive apt tools in one RUN."""

    template: ClassVar[str] = "methods/apt.j2"

    tools: tuple[AptPackages, ...]
    sources: tuple[AptSource, ...]
    unpinned_reasons: tuple[str, ...]
    #: each package once, in the tools' order
    packages: tuple[str, ...]

"""rustup: a Rust toolchain installed by a pinned, digest-checked rustup-init, as the user.

rustup-init comes from rustup's versioned archive (never the moving sh.rustup.rs script),
is checked against a sha256 per architecture before it runs, and installs into the user's
~/.rustup and ~/.cargo (put ~/.cargo/bin on the spec's path). rustup itself then checks the
toolchain's components against the signed channel manifest of static.rust-lang.org.

No cache mount: rustup deletes its downloads once a toolchain is installed, and a mount
under ~/.rustup would leave a root-owned stub directory in the image.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StrictStr

from generator.fields import Sha256, Url, Version, _pattern
from generator.methods.base import FETCH_SCRIPT, Contribution, Issue, Phase, RenderContext, TemplateData, ToolBase, Verification

Arch = Literal["amd64", "arm64"]
Component = Annotated[StrictStr, _pattern(r"[a-z0-9][a-z0-9-]*", "a rustup component name such as clippy or rust-src")]

#: Rust's host triple per Docker architecture (glibc: the base image is a glibc distribution)
TRIPLES = {"amd64": "x86_64-unknown-linux-gnu", "arm64": "aarch64-unknown-linux-gnu"}


class RustupTool(ToolBase):
    phase: ClassVar[Phase] = Phase.TOOLCHAIN

    method: Literal["rustup"]
    #: the toolchain, an exact release such as 1.94.1
    version: Version
    #: the rustup-init release that installs it
    rustup_version: Version
    #: sha256 of rustup-init per architecture, computed from the real files
    sha256: dict[Arch, Sha256] = Field(min_length=1)
    #: rustup's installation profile
    profile: Literal["minimal", "default", "complete"] = "minimal"
    #: extra components, e.g. [clippy, rustfmt]
    components: list[Component] = []
    #: rustup's release archive; rustup-init is fetched from ARCHIVE/VERSION/TRIPLE/rustup-init
    archive: Url = "https://static.rust-lang.org/rustup/archive"

    def platform_issues(self, arches: list[str]) -> Iterator[Issue]:
        for arch in arches:
            if arch not in self.sha256:
                yield ("sha256",), f"no sha256 of rustup-init for {arch}; every platform of the spec needs one"

    @property
    def digests(self) -> dict[str, str]:
        """The spec's sha256 per arch, looked up by the plain arch strings the context uses."""
        return {arch: digest for arch, digest in self.sha256.items()}

    def commands(self) -> list[str]:
        return list(self.provides) or ["rustup", "rustc", "cargo"]

    def init_url(self, arch: str) -> str:
        return f"{self.archive.rstrip('/')}/{self.rustup_version}/{TRIPLES[arch]}/rustup-init"

    def downloads(self, ctx: RenderContext) -> list[tuple[str, str]]:
        return [(arch, self.init_url(arch)) for arch in ctx.arches if arch in self.sha256]

    def spec_sha256(self, key: str) -> str | None:
        return self.digests.get(key)

    def digest(self, ctx: RenderContext, arch: str) -> str | None:
        return ctx.locked_sha256(self.name, arch, self.init_url(arch)) or self.digests.get(arch)

    def verification(self, ctx: RenderContext) -> Verification:
        if all(ctx.locked_sha256(self.name, arch, self.init_url(arch)) for arch in ctx.arches if arch in self.sha256):
            first_use = self.first_use_verification(ctx, "rustup-init sha256")
            return first_use or Verification("pinned-digest", "rustup-init sha256 from sandbox.lock")
        return Verification("pinned-digest", "rustup-init sha256 in sandbox.yaml")

    def base_scripts_needed(self) -> tuple[str, ...]:
        return (FETCH_SCRIPT,)

    def contribute(self, ctx: RenderContext) -> Contribution:
        return Contribution(
            body=RustupInstall(
                name=self.name,
                version=self.version,
                rustup_version=self.rustup_version,
                verification=str(self.verification(ctx)),
                inits=tuple(
                    RustupInit(arch, self.init_url(arch), TRIPLES[arch], self.digest(ctx, arch) or self.digests[arch])
                    for arch in ctx.arches
                    if arch in self.sha256
                ),
                profile=self.profile,
                components=tuple(self.components),
            )
        )


@dataclass(frozen=True)
class RustupInit:
    """rustup-init for one platform: where it is, the host it installs for, its digest."""

    arch: str
    url: str
    triple: str
    sha256: str


@dataclass(frozen=True)
class RustupInstall(TemplateData):
    """The RUN that fetches rustup-init for the target platform, checks it and runs it."""

    template: ClassVar[str] = "methods/rustup.j2"

    name: str
    version: str
    rustup_version: str
    verification: str
    inits: tuple[RustupInit, ...]
    profile: str
    components: tuple[str, ...]

"""cargo: `cargo install --locked` in a builder stage; only the binaries are copied out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from generator.fields import BuilderImage, CrateName, Version
from generator.methods.base import Contribution, Copy, Phase, RenderContext, Settings, TemplateData, ToolBase, Upstream, Verification
from generator.purl import purl


class CargoBuilder(Settings):
    """``builders.cargo``: the image every cargo stage is built FROM."""

    #: the image the crate compiles in (a release tag; `sandbox lock` pins its digest)
    cargo: BuilderImage = "rust:1.94.1-bookworm"


class CargoTool(ToolBase):
    phase: ClassVar[Phase] = Phase.STAGE

    method: Literal["cargo"]
    #: crate name; defaults to the tool name
    crate: CrateName | None = None
    version: Version

    def purl(self, ctx: RenderContext) -> str:
        return purl("cargo", self.crate or self.name, self.version)

    def upstream(self) -> Upstream | None:
        return Upstream("crates", self.crate or self.name)

    def builder_image(self, ctx: RenderContext) -> str:
        return ctx.spec.builders.cargo

    def verification(self, ctx: RenderContext) -> Verification:
        return Verification("package-manager", "crates.io checksums, Cargo.lock (--locked)")

    def contribute(self, ctx: RenderContext) -> Contribution:
        return Contribution(
            body=CargoStage(
                name=self.name,
                version=self.version,
                stage=self.stage_name,
                image=ctx.pinned_image(ctx.spec.builders.cargo),
                crate=self.crate or self.name,
            ),
            copies=[Copy(self.stage_name, "/out/bin/", "/usr/local/bin/")],
        )


@dataclass(frozen=True)
class CargoStage(TemplateData):
    """A builder stage that compiles the crate; its binaries are copied out."""

    template: ClassVar[str] = "methods/cargo.j2"

    name: str
    version: str
    stage: str
    #: the builder image, pinned by digest when sandbox.lock has one
    image: str
    crate: str

"""cargo: `cargo install --locked` in a builder stage; only the binaries are copied out."""

from __future__ import annotations

from typing import ClassVar, Literal

from generator.fields import CrateName, Version
from generator.filters import shell_quote
from generator.methods.base import Contribution, Copy, Phase, ToolBase, Upstream, Verification
from generator.purl import purl


class CargoTool(ToolBase):
    template: ClassVar[str] = "methods/cargo.j2"
    phase: ClassVar[Phase] = Phase.STAGE

    method: Literal["cargo"]
    #: crate name; defaults to the tool name
    crate: CrateName | None = None
    version: Version

    def platform_issues(self, arches):
        return ()

    def purl(self, ctx) -> str:
        return purl("cargo", self.crate or self.name, self.version)

    def upstream(self) -> Upstream | None:
        return Upstream("crates", self.crate or self.name)

    def builder_image(self, ctx) -> str:
        return ctx.spec.builders.cargo

    def verification(self, ctx) -> Verification:
        return Verification("package-manager", "crates.io checksums, Cargo.lock (--locked)")

    def contribute(self, ctx) -> Contribution:
        return Contribution(
            body={
                "name": self.name,
                "version": self.version,
                "stage": self.stage_name,
                "image": ctx.pinned_image(ctx.spec.builders.cargo),
                "crate": shell_quote(self.crate or self.name),
                "version_arg": shell_quote(self.version),
            },
            copies=[Copy(self.stage_name, "/out/bin/", "/usr/local/bin/")],
        )

"""go: `go install PKG@VERSION` in a builder stage; the static binary is copied out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from generator.fields import BuilderImage, GoPackage, Version
from generator.methods.base import Contribution, Copy, Phase, RenderContext, Settings, TemplateData, ToolBase, Upstream, Verification
from generator.purl import purl


class GoBuilder(Settings):
    """``builders.go``: the image every go stage is built FROM."""

    #: the image the package cross-compiles in (a release tag; `sandbox lock` pins its digest)
    go: BuilderImage = "golang:1.27.0-bookworm"


class GoTool(ToolBase):
    phase: ClassVar[Phase] = Phase.STAGE

    method: Literal["go"]
    #: package path of the main package, e.g. mvdan.cc/sh/v3/cmd/shfmt
    package: GoPackage
    #: module version as tagged (Go wants the leading v, e.g. v3.13.1)
    version: Version

    def purl(self, ctx: RenderContext) -> str:
        """pkg:golang/MODULE@VERSION#SUBPATH. The spec names a package, not its module: by
        Go's convention a command lives under the module's cmd/, so what precedes /cmd/ is
        taken as the module; without /cmd/ the whole package path is named."""
        path = self.package.removesuffix("/...")
        module, found, below = (path + "/").partition("/cmd/")
        subpath = f"cmd/{below}".rstrip("/") if found else None
        namespace, _, name = (module if found else path).rpartition("/")
        return purl("golang", name, self.version, namespace=namespace or None, subpath=subpath)

    def upstream(self) -> Upstream | None:
        return Upstream("goproxy", self.package)

    def builder_image(self, ctx: RenderContext) -> str:
        return ctx.spec.builders.go

    def verification(self, ctx: RenderContext) -> Verification:
        return Verification("package-manager", "Go checksum database (sum.golang.org)")

    def contribute(self, ctx: RenderContext) -> Contribution:
        return Contribution(
            body=GoStage(
                name=self.name,
                version=self.version,
                stage=self.stage_name,
                image=ctx.pinned_image(ctx.spec.builders.go),
                package=self.package,
            ),
            copies=[Copy(self.stage_name, "/out/bin/", "/usr/local/bin/")],
        )


@dataclass(frozen=True)
class GoStage(TemplateData):
    """A builder stage that cross-compiles the package; the binary is copied out."""

    template: ClassVar[str] = "methods/go.j2"

    name: str
    version: str
    stage: str
    #: the builder image, pinned by digest when sandbox.lock has one
    image: str
    package: str

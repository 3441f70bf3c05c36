"""npm: a global npm package, installed as the user into ~/.local."""

from __future__ import annotations

from typing import ClassVar, Literal

from generator.fields import CommandWord, NpmPackage, Version
from generator.filters import shell_quote
from generator.methods.base import Contribution, Phase, ToolBase, Upstream, Verification
from generator.purl import purl


class NpmTool(ToolBase):
    template: ClassVar[str] = "methods/npm.j2"
    phase: ClassVar[Phase] = Phase.USER
    requires: ClassVar[tuple[str, ...]] = ("npm",)

    method: Literal["npm"]
    #: package name on the registry; defaults to the tool name
    package: NpmPackage | None = None
    version: Version
    #: one command run as the user right after the install, as argument words (e.g. a
    #: package's own installer that copies files into the user's config directory)
    setup: list[CommandWord] = []

    @property
    def package_name(self) -> str:
        return self.package or self.name

    def purl(self, ctx) -> str:
        scope, _, name = self.package_name.rpartition("/")
        return purl("npm", name, self.version, namespace=scope or None)

    def upstream(self) -> Upstream | None:
        return Upstream("npm", self.package_name)

    def verification(self, ctx) -> Verification:
        return Verification("package-manager", "npm registry integrity hash, exact version")

    def contribute(self, ctx) -> Contribution:
        return Contribution(
            body={
                "spec": shell_quote(f"{self.package_name}@{self.version}"),
                "cache": f"{ctx.home}/.npm",
                "setup": " ".join(shell_quote(word) for word in self.setup),
                **ctx.owner,
            },
            dirs=[f"{ctx.home}/.npm"],
        )

"""npm: a global npm package, installed as the user into ~/.local."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from generator.fields import CommandWord, NpmPackage, Version
from generator.methods.base import CacheMount, Contribution, Phase, TemplateData, ToolBase, Upstream, Verification
from generator.purl import purl


class NpmTool(ToolBase):
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
        cache = ctx.cache_mount(f"{ctx.home}/.npm")
        return Contribution(
            body=NpmInstall(cache=cache, package=self.package_name, version=self.version, setup=tuple(self.setup)),
            dirs=[cache.target],
        )


@dataclass(frozen=True)
class NpmInstall(TemplateData):
    """`npm install --global` into ~/.local as the user, then the package's setup command."""

    template: ClassVar[str] = "methods/npm.j2"

    cache: CacheMount
    package: str
    version: str
    #: the setup command's words; empty: none
    setup: tuple[str, ...]

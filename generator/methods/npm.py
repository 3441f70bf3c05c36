"""npm: a global npm package, installed as the user into ~/.local."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import field_validator

from generator.fields import CommandWord, NpmPackage, Version
from generator.methods.base import CacheMount, Contribution, Phase, RenderContext, TemplateData, ToolBase, Upstream, Verification
from generator.purl import purl

#: a shell assignment word (NAME=value) before the command
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*")


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

    @field_validator("setup")
    @classmethod
    def _a_command_first(cls, words: list[str]) -> list[str]:
        """After any NAME=value assignments, the next word is what the shell runs: not an
        option or a name ending in '/' or '.', and there must be one (shellcheck, which
        `sandbox lint` runs, reads each as a typo: SC2215, SC2287, SC2288, SC2034)."""
        if not words:
            return words
        command = next((w for w in words if not _ASSIGNMENT.fullmatch(w)), None)
        if command is None:
            raise ValueError(f"setup runs no command: {' '.join(words)!r} only assigns variables")
        if (not command[0].isalnum() and command[0] not in "_./@+") or "=" in command or (command != "." and command.endswith(("/", "."))):
            raise ValueError(
                f"setup's command word {command!r} reads as a typo (an option, a word starting with ':' "
                "or holding '=', or a name ending in '/' or '.')"
            )
        return words

    @property
    def package_name(self) -> str:
        return self.package or self.name

    def purl(self, ctx: RenderContext) -> str:
        scope, _, name = self.package_name.rpartition("/")
        return purl("npm", name, self.version, namespace=scope or None)

    def upstream(self) -> Upstream | None:
        return Upstream("npm", self.package_name)

    def verification(self, ctx: RenderContext) -> Verification:
        return Verification("package-manager", "npm registry integrity hash, exact version")

    def contribute(self, ctx: RenderContext) -> Contribution:
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

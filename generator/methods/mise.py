"""mise: a language toolchain (node, python, go, rust, ...) managed by mise, as the user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from pydantic import StrictStr

from generator.fields import EnvName, Version, _pattern
from generator.methods.base import CacheMount, Contribution, Finding, Phase, RenderContext, TemplateData, ToolBase, Upstream, Verification
from generator.methods.data import Listing

MiseToolName = Annotated[StrictStr, _pattern(r"[a-z0-9][a-z0-9:/._-]*", "a mise tool name such as node or python")]
EnvWord = Annotated[StrictStr, _pattern(r"[A-Za-z0-9._/:-]*", "a value without spaces or shell metacharacters")]


#: the release indexes `sandbox outdated` knows, by mise's toolchain name
_INDEXES: dict[str, Listing] = {"node": "node-index", "python": "python-index", "go": "go-index"}


class MiseTool(ToolBase):
    phase: ClassVar[Phase] = Phase.TOOLCHAIN
    requires: ClassVar[tuple[str, ...]] = ("mise",)

    method: Literal["mise"]
    #: mise's name for the toolchain; defaults to the tool name
    tool: MiseToolName | None = None
    version: Version
    #: settings for the install only, e.g. MISE_PYTHON_COMPILE: "0"
    env: dict[EnvName, EnvWord] = {}

    def verification(self, ctx: RenderContext) -> Verification:
        return Verification("package-manager", "mise checks the upstream release checksums")

    def audit(self, ctx: RenderContext, unlocked: list[str]) -> list[Finding]:
        """A version with fewer than three parts (22, 3.13) is resolved by mise at build time."""
        found = super().audit(ctx, unlocked)
        if self.enabled and len(str(self.version).split(".")) < 3:
            found.append(Finding(self.name, "unpinned", f"mise resolves {self.version!r} to a release at build time"))
        return found

    def upstream(self) -> Upstream | None:
        index = _INDEXES.get(self.tool or self.name)
        return Upstream(index) if index else None

    def contribute(self, ctx: RenderContext) -> Contribution:
        cache = ctx.cache_mount(f"{ctx.home}/.cache/mise")
        return Contribution(
            body=MiseInstall(cache=cache, env=tuple(self.env.items()), tool=self.tool or self.name, version=self.version),
            dirs=[cache.target],
        )


@dataclass(frozen=True)
class MiseInstall(TemplateData):
    """`mise use --global` as the user, with the install's own settings."""

    template: ClassVar[str] = "methods/mise.j2"

    cache: CacheMount
    #: (name, value) set for the install only
    env: tuple[tuple[str, str], ...]
    tool: str
    version: str

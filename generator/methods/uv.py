"""uv: a Python command-line tool in its own environment (`uv tool install`), as the user."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from generator.fields import PypiPackage, Version
from generator.methods.base import CacheMount, Contribution, Phase, RenderContext, TemplateData, ToolBase, Upstream, Verification
from generator.purl import purl


class UvTool(ToolBase):
    phase: ClassVar[Phase] = Phase.USER
    requires: ClassVar[tuple[str, ...]] = ("uv",)

    method: Literal["uv"]
    #: project name on PyPI; defaults to the tool name
    package: PypiPackage | None = None
    version: Version
    #: Python the tool's environment uses (e.g. 3.13); default: uv's choice
    python: Version | None = None

    def purl(self, ctx: RenderContext) -> str:
        # PyPI names are compared normalized (PEP 503), and purl asks for that form
        name = re.sub(r"[-_.]+", "-", self.package or self.name).lower()
        return purl("pypi", name, self.version)

    def upstream(self) -> Upstream | None:
        return Upstream("pypi", self.package or self.name)

    def verification(self, ctx: RenderContext) -> Verification:
        return Verification("package-manager", "PyPI over HTTPS, exact version")

    def contribute(self, ctx: RenderContext) -> Contribution:
        cache = ctx.cache_mount(f"{ctx.home}/.cache/uv")
        return Contribution(
            body=UvInstall(cache=cache, package=self.package or self.name, version=self.version, python=self.python),
            dirs=[cache.target],
        )


@dataclass(frozen=True)
class UvInstall(TemplateData):
    """`uv tool install` as the user."""

    template: ClassVar[str] = "methods/uv.j2"

    cache: CacheMount
    package: str
    version: str
    #: the Python the tool's environment uses; None: uv's choice
    python: str | None

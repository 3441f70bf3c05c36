"""uv: a Python command-line tool in its own environment (`uv tool install`), as the user."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from generator.fields import PypiPackage, Version
from generator.filters import shell_quote
from generator.methods.base import Contribution, Phase, ToolBase, Upstream, Verification
from generator.purl import purl


class UvTool(ToolBase):
    template: ClassVar[str] = "methods/uv.j2"
    phase: ClassVar[Phase] = Phase.USER
    requires: ClassVar[tuple[str, ...]] = ("uv",)

    method: Literal["uv"]
    #: project name on PyPI; defaults to the tool name
    package: PypiPackage | None = None
    version: Version
    #: Python the tool's environment uses (e.g. 3.13); default: uv's choice
    python: Version | None = None

    def purl(self, ctx) -> str:
        # PyPI names are compared normalized (PEP 503), and purl asks for that form
        name = re.sub(r"[-_.]+", "-", self.package or self.name).lower()
        return purl("pypi", name, self.version)

    def upstream(self) -> Upstream | None:
        return Upstream("pypi", self.package or self.name)

    def verification(self, ctx) -> Verification:
        return Verification("package-manager", "PyPI over HTTPS, exact version")

    def contribute(self, ctx) -> Contribution:
        return Contribution(
            body={
                "spec": shell_quote(f"{self.package or self.name}=={self.version}"),
                "python": shell_quote(self.python) if self.python else None,
                "cache": f"{ctx.home}/.cache/uv",
                **ctx.owner,
            },
            dirs=[f"{ctx.home}/.cache/uv"],
        )

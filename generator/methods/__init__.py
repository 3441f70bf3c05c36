"""Install methods: one module + one template partial each, listed in REGISTRY.

To add a method: write ``generator/methods/NAME.py`` (a ``ToolBase`` subclass with
``method: Literal["NAME"]``), ``templates/methods/NAME.j2``, a test, and one line below.
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Discriminator

from generator.methods.apt import AptTool
from generator.methods.base import Contribution, Copy, Phase, ToolBase, Verification
from generator.methods.cargo import CargoTool
from generator.methods.git import GitTool
from generator.methods.go import GoTool
from generator.methods.mise import MiseTool
from generator.methods.npm import NpmTool
from generator.methods.release import ReleaseTool
from generator.methods.rustup import RustupTool
from generator.methods.script import ScriptTool
from generator.methods.uv import UvTool

REGISTRY: dict[str, type[ToolBase]] = {
    "apt": AptTool,
    "release": ReleaseTool,
    "npm": NpmTool,
    "uv": UvTool,
    "cargo": CargoTool,
    "go": GoTool,
    "mise": MiseTool,
    "git": GitTool,
    "script": ScriptTool,
    "rustup": RustupTool,
}

Tool = Annotated[Union[tuple(REGISTRY.values())], Discriminator("method")]  # noqa: UP007

__all__ = ["REGISTRY", "Tool", "ToolBase", "Phase", "Copy", "Contribution", "Verification"]

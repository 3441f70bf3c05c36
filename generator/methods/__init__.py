"""Install methods: one module + its templates each, listed in REGISTRY.

To add a method: write ``generator/methods/NAME.py`` (a ``ToolBase`` subclass with
``method: Literal["NAME"]`` that overrides the hooks of ``protocol.InstallMethod`` it
needs, and the ``TemplateData`` its ``contribute`` returns), ``templates/methods/NAME.j2``
(``NAME-PART.j2`` for a second kind of block, such as deb's fetch stage), its tests, and
one line below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Discriminator

from generator.methods.apt import AptTool
from generator.methods.base import ToolBase
from generator.methods.cargo import CargoTool
from generator.methods.data import Contribution, Copy, Phase, Verification
from generator.methods.deb import DebTool
from generator.methods.git import GitTool
from generator.methods.go import GoTool
from generator.methods.mise import MiseTool
from generator.methods.npm import NpmTool
from generator.methods.protocol import InstallMethod
from generator.methods.release import ReleaseTool
from generator.methods.rustup import RustupTool
from generator.methods.script import ScriptTool
from generator.methods.uv import UvTool

REGISTRY: dict[str, type[InstallMethod]] = {
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
    "deb": DebTool,
}

if TYPE_CHECKING:
    # what the rest of the generator may use of a tool: the protocol, whichever method it is
    Tool = InstallMethod
else:
    # what pydantic validates a spec entry with: the registered model its `method:` names
    Tool = Annotated[Union[tuple(REGISTRY.values())], Discriminator("method")]  # noqa: UP007

__all__ = ["REGISTRY", "Contribution", "Copy", "InstallMethod", "Phase", "Tool", "ToolBase", "Verification"]

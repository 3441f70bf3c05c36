"""The registry of install methods: one line per method, the tool union built from it, and
the settings the methods own gathered into the sections of sandbox.yaml that hold them.

The one place that names every concrete method (as pre-commit's ``all_languages`` names
every language). The spec validates a tool entry with the model its ``method:`` names; the
rest of the generator only sees the protocols of ``generator.methods.protocol``.

To add a method: write ``generator/methods/NAME.py`` (a ``ToolBase`` subclass with
``method: Literal["NAME"]`` that overrides the hooks it needs, and the ``TemplateData`` its
``contribute`` returns), ``templates/methods/NAME.j2`` (``NAME-PART.j2`` for a second kind of
block, such as deb's fetch stage), its tests, and one line below. CONTRIBUTING.md walks
through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Discriminator

from generator.methods.apt import AptPolicy, AptTool
from generator.methods.cargo import CargoBuilder, CargoTool
from generator.methods.deb import DebTool
from generator.methods.git import GitTool
from generator.methods.go import GoBuilder, GoTool
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


class Builders(CargoBuilder, GoBuilder):
    """Images for builder stages (compile-only work; their results are copied out)."""


class MethodPolicies(AptPolicy):
    """The rules of ``policy:`` that belong to a method (spec.Policy adds the spec-wide ones)."""


__all__ = ["REGISTRY", "Builders", "MethodPolicies", "Tool"]

"""The small interface every install method implements.

An install method is one pydantic model (the spec entry, with ``method: NAME`` as its
discriminator) plus one template partial under ``templates/methods/``. The renderer asks
the model for template data; the template only lays it out. Nothing else in the
generator knows about individual methods, except the one registry line in
``generator/methods/__init__.py``.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

from generator.fields import BinaryName, CommandWord, Name, Reason, Text

if TYPE_CHECKING:
    from generator.render import RenderContext


class Phase(IntEnum):
    """Where a method's instructions go. Lower phases come first."""

    #: its own stage (download + verify, clone, compile); results are COPY'd into the image
    STAGE = 10
    #: a RUN in the final stage as root, before the user exists
    SYSTEM = 20
    #: a RUN in the final stage as the user: language toolchains
    TOOLCHAIN = 30
    #: a RUN in the final stage as the user: tools that need a toolchain
    USER = 40


@dataclass(frozen=True)
class Copy:
    """A COPY --from into the final image."""

    stage: str
    source: str
    dest: str
    as_user: bool = False


@dataclass(frozen=True)
class Verification:
    """How a tool's bytes are checked: shown by `sandbox list` and `sandbox audit`."""

    #: pinned-digest, checksum-file, package-manager, git-commit, unverified
    kind: str
    detail: str = ""

    @property
    def strong(self) -> bool:
        return self.kind in {"pinned-digest", "git-commit", "package-manager"}

    def __str__(self) -> str:
        return f"{self.kind} ({self.detail})" if self.detail else self.kind


@dataclass
class Contribution:
    """What one tool adds to the Dockerfile: rendered by the generic renderer."""

    body: dict[str, Any]
    copies: list[Copy] = field(default_factory=list)
    #: directories under the home this step writes through (cache-mount targets): the
    #: renderer creates them owned by the user first, because BuildKit would otherwise
    #: leave root-owned mount points in the image
    dirs: list[str] = field(default_factory=list)


def q(value: str) -> str:
    """Quote one shell word."""
    return shlex.quote(value)


class ToolBase(BaseModel):
    """Fields every tool has, whatever its install method."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template: ClassVar[str]
    phase: ClassVar[Phase]

    name: Name
    description: Text | None = None
    enabled: bool = True
    #: why the tool is disabled; required when enabled is false
    disabled_reason: Reason | None = None
    #: the profiles this tool is part of; omitted means every profile
    profiles: list[Name] | None = None
    #: the smoke test's version check, e.g. [rg, --version]; omitted means no check
    check: list[CommandWord] | None = None
    #: commands this tool puts on PATH (used for dependency checks and the smoke test)
    provides: list[BinaryName] = []
    #: free-form remark: unconfirmed facts, upstream caveats
    note: Reason | None = None

    @model_validator(mode="after")
    def _disabled_needs_reason(self) -> ToolBase:
        if not self.enabled and not self.disabled_reason:
            raise ValueError("a disabled tool needs disabled_reason: say why it is off")
        return self

    # -- what subclasses provide -------------------------------------------------------
    requires: ClassVar[tuple[str, ...]] = ()

    def shown_version(self) -> str:
        return str(getattr(self, "version", "") or "")

    def commands(self) -> list[str]:
        """Commands this tool puts on PATH."""
        return list(self.provides)

    def platform_issues(self, arches: list[str]) -> Iterator[tuple[tuple[str, ...], str]]:
        """Problems with covering the spec's platforms (located relative to the tool)."""
        return iter(())

    def base_packages_needed(self) -> tuple[str, ...]:
        """apt packages this tool's own stage needs from the base stage (it is built
        FROM base, so a tool installed later in the final stage does not help)."""
        return ()

    def verification(self, ctx: RenderContext) -> Verification:
        raise NotImplementedError

    def downloads(self, ctx: RenderContext) -> list[tuple[str, str]]:
        """(key, url) of each file the build fetches for this tool outside a package manager;
        `sandbox lock` records its sha256 under the key (an arch such as amd64, or a name)."""
        return []

    def contribute(self, ctx: RenderContext) -> Contribution:
        raise NotImplementedError

    def in_profile(self, profile: str) -> bool:
        return self.enabled and (self.profiles is None or profile in self.profiles)

    @property
    def stage_name(self) -> str:
        return f"{self.method}-{self.name}".replace(".", "-").replace("_", "-")  # type: ignore[attr-defined]

"""script: an upstream installer script, pinned by URL and sha256, run explicitly.

This runs upstream code inside the build; the spec must say so with
``runs_upstream_code: true``, and `sandbox audit` lists every such tool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from pydantic import StrictStr, model_validator

from generator import placeholders
from generator.fields import EnvName, Reason, ScriptUrl, Sha256, Version, _pattern
from generator.methods.base import (
    FETCH_SCRIPT,
    FIRST_USE,
    Contribution,
    Finding,
    Phase,
    RenderContext,
    TemplateData,
    ToolBase,
    Upstream,
    Verification,
    fetch_check,
    lock_note,
)

ScriptArg = Annotated[StrictStr, _pattern(r"[A-Za-z0-9._/=:+@~-]+", "an argument without spaces or shell metacharacters")]


class ScriptTool(ToolBase):
    phase: ClassVar[Phase] = Phase.USER

    method: Literal["script"]
    version: Version
    #: the installer, at a URL that names the version or a commit (never a branch); {version}
    #: is filled in
    url: ScriptUrl
    #: sha256 of the script itself, computed from the real file
    sha256: Sha256 | None = None
    #: why the script's digest is not pinned yet
    unverified: Reason | None = None
    #: must be true: the build runs code fetched from upstream
    runs_upstream_code: Literal[True]
    interpreter: Literal["sh", "bash"] = "sh"
    args: list[ScriptArg] = []
    env: dict[EnvName, ScriptArg] = {}
    #: run as root (default: as the user)
    as_root: bool = False

    @model_validator(mode="after")
    def _verifiable(self) -> ScriptTool:
        if not (self.sha256 or self.unverified):
            raise ValueError("give the script's sha256 (computed from the real file) or unverified with a reason")
        return self

    def url_for(self) -> str:
        return placeholders.fill(self.url, {"version": self.version})

    def downloads(self, ctx: RenderContext) -> list[tuple[str, str]]:
        return [("script", self.url_for())]

    def spec_sha256(self, key: str) -> str | None:
        return self.sha256 if key == "script" else None

    def digest(self, ctx: RenderContext) -> str | None:
        return ctx.locked_sha256(self.name, "script", self.url_for()) or self.sha256

    def verification(self, ctx: RenderContext) -> Verification:
        if ctx.locked_sha256(self.name, "script", self.url_for()):
            first_use = self.first_use_verification(ctx, "script sha256")
            if first_use:
                return Verification(first_use.kind, f"{first_use.detail}; runs upstream code")
            return Verification("pinned-digest", "script sha256 from sandbox.lock; runs upstream code")
        if self.sha256:
            return Verification("pinned-digest", "script sha256 in sandbox.yaml; runs upstream code")
        return Verification("unverified", self.unverified or "")

    def audit(self, ctx: RenderContext, unlocked: list[str]) -> list[Finding]:
        """Always listed while enabled: the build runs the installer upstream wrote."""
        if not self.enabled:
            return super().audit(ctx, unlocked)
        verification = self.verification(ctx)
        detail = "runs the upstream installer script"
        if verification.kind == "unverified":
            detail += f"; UNVERIFIED: {verification.detail}"
        return [Finding(self.name, "script", "; ".join(filter(None, [detail, lock_note(unlocked)]))), *self.first_use_findings(ctx)]

    def upstream(self) -> Upstream | None:
        return Upstream("github-releases", self.url)

    def base_scripts_needed(self) -> tuple[str, ...]:
        return (FETCH_SCRIPT,)

    def contribute(self, ctx: RenderContext) -> Contribution:
        return Contribution(
            body=ScriptRun(
                name=self.name,
                version=self.version,
                url=self.url_for(),
                path=f"/tmp/install-{self.name}.sh",
                sha256=self.digest(ctx),
                check=fetch_check(self.digest(ctx)),
                first_use=FIRST_USE if self.first_use_pins(ctx) else None,
                unverified=self.unverified,
                interpreter=self.interpreter,
                args=tuple(self.args),
                env=tuple(self.env.items()),
                as_root=self.as_root,
                uid=ctx.spec.user.uid,
                gid=ctx.spec.user.gid,
            )
        )


@dataclass(frozen=True)
class ScriptRun(TemplateData):
    """The RUN that fetches the installer, checks its sha256 (when pinned) and runs it."""

    template: ClassVar[str] = "methods/script.j2"

    name: str
    version: str
    url: str
    #: where the script is saved for the run
    path: str
    sha256: str | None
    #: sandbox-fetch's check: --sha256 DIGEST, or --unverified
    check: tuple[str, ...]
    #: how the comment names a sha256 that sandbox.lock took on first use (None: not one)
    first_use: str | None
    unverified: str | None
    interpreter: str
    args: tuple[str, ...]
    #: (name, value) set for the run
    env: tuple[tuple[str, str], ...]
    as_root: bool
    #: the user that the steps after a root run go on as
    uid: int
    gid: int

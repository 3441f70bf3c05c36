"""git: a repository checked out at a pinned commit, in its own stage, copied in."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, StrictStr, ValidationInfo, field_validator, model_validator

from generator.fields import SYSTEM_DIRS, GitCommit, HomePath, Url, Version, _pattern
from generator.methods.base import (
    Contribution,
    Copy,
    Phase,
    RenderContext,
    SbomComponent,
    TemplateData,
    ToolBase,
    Tracked,
    Upstream,
    Verification,
)
from generator.purl import github, purl

#: where the checkout goes: absolute, or under ~/ (not ~name)
Dest = HomePath


def _ref_name(value: str) -> str:
    # the parts of git's check-ref-format that the character set alone does not rule out
    parts = value.split("/")
    if ".." in value or "" in parts or any(p.startswith(".") or p.endswith(".lock") for p in parts) or value.endswith("."):
        raise ValueError(f"expected a branch name: no '..', no empty or '.'-leading part, not ending in '.' or '.lock'; got {value!r}")
    return value


#: reaches only API URLs (quoted there), never the Dockerfile; still held to git's rules so a
#: typo fails at load time rather than as a 404 in the weekly workflow
Branch = Annotated[
    StrictStr,
    _pattern(r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}", "a branch name: letters, digits, '.', '_', '-', '/' (not starting with '-')"),
    AfterValidator(_ref_name),
]


class GitTool(ToolBase):
    phase: ClassVar[Phase] = Phase.STAGE
    requires: ClassVar[tuple[str, ...]] = ("git",)

    method: Literal["git"]
    url: Url
    #: the commit to check out; the build fails if HEAD is anything else. Only a disabled
    #: tool may leave it out (a repository without tags whose commit nobody has pinned yet)
    commit: GitCommit | None = None
    #: where the checkout goes; ~ is the user's home (then the user owns it)
    dest: Dest
    #: the branch whose head `sandbox update` moves the commit to; default: the repository's
    #: default branch. The build itself only ever checks out ``commit``
    branch: Branch | None = None
    #: a human-readable version (tag or date), shown in tables; `sandbox update` keeps a
    #: date (YYYY-MM-DD) in step with the commit it pins
    version: Version | None = None
    #: keep .git (for tools that update themselves); default: drop it
    keep_git: bool = False

    @field_validator("dest")
    @classmethod
    def _own_directory(cls, value: str, info: ValidationInfo) -> str:
        # the stage's /out<dest> is copied over dest: the checkout would be merged into the
        # root or a directory of the system, its files over the system's
        if value == "/" or value.strip("/") in SYSTEM_DIRS:
            name = info.data.get("name") or "plugins"
            raise ValueError(
                f"{value!r} is {'the root directory' if value == '/' else 'a directory of the system'}: "
                f"the checkout would be merged into it; give it a directory of its own, such as ~/.{name} or /opt/{name}"
            )
        return value

    @model_validator(mode="after")
    def _enabled_needs_commit(self) -> GitTool:
        if self.enabled and not self.commit:
            raise ValueError("commit is required: pin the full 40-hex commit id (or disable the tool with a reason)")
        return self

    def base_packages_needed(self) -> tuple[str, ...]:
        return ("git",)

    def home_paths(self) -> tuple[tuple[tuple[str, ...], str], ...]:
        return ((("dest",), self.dest),)

    def shown_version(self) -> str:
        return self.version or (self.commit[:12] if self.commit else "unpinned")

    def verification(self, ctx: RenderContext) -> Verification:
        if not self.commit:
            return Verification("unverified", "no commit pinned")
        return Verification("git-commit", f"commit {self.commit[:12]}")

    def upstream(self) -> Upstream | None:
        # only GitHub's API is asked: `git ls-remote` would reach any host, tests included
        return Upstream("github-commits", self.url, self.branch)

    def tracked(self) -> Tracked | None:
        """The commit, disabled or not: a git tool is typically disabled exactly because no
        commit is pinned yet; a date-shaped version: label follows the commit."""
        return Tracked("commit", self.commit, self.upstream(), label=self.version)

    def purl(self, ctx: RenderContext) -> str:
        """pkg:github/OWNER/REPO@COMMIT on GitHub; elsewhere pkg:generic with the repository
        as vcs_url (the commit is what the build checks out, so it is the version)."""
        return github(self.url, self.commit) or purl(
            "generic", self.name, self.commit, qualifiers={"vcs_url": f"git+{self.url}@{self.commit}" if self.commit else ""}
        )

    def sbom_components(self, ctx: RenderContext) -> list[SbomComponent]:
        (component,) = super().sbom_components(ctx)
        props = (("git:branch", self.branch),) if self.branch else ()
        return [replace(component, version=self.version or self.commit, vcs=(self.url, self.commit), properties=props)]

    def contribute(self, ctx: RenderContext) -> Contribution:
        dest = ctx.expand_home(self.dest)
        out = f"/out{dest}"
        return Contribution(
            body=GitStage(
                name=self.name,
                shown_version=self.shown_version(),
                stage=self.stage_name,
                url=self.url,
                commit=self.commit,
                out=out,
                keep_git=self.keep_git,
            ),
            copies=[Copy(self.stage_name, out, dest, as_user=self.dest.startswith("~"))],
        )


@dataclass(frozen=True)
class GitStage(TemplateData):
    """A stage that clones the repository and checks out the pinned commit."""

    template: ClassVar[str] = "methods/git.j2"

    name: str
    shown_version: str
    stage: str
    url: str
    commit: str | None
    #: where the stage leaves the checkout (the final stage copies it from there)
    out: str
    keep_git: bool

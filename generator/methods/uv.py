"""uv: a Python command-line tool in its own environment, as the user: from its transitive
lock (a venv of its own, `uv pip install --require-hashes` from the lock's requirements)
once `sandbox lock` made one, else `uv tool install` (the top package's version pinned,
its dependencies resolved at build time)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from generator.fields import PypiPackage, Version
from generator.methods.base import (
    CacheMount,
    Contribution,
    Phase,
    RenderContext,
    ResolvedPackages,
    TemplateData,
    ToolBase,
    Upstream,
    Verification,
    linked_commands,
)
from generator.purl import purl

if TYPE_CHECKING:
    from generator.supply.upstreams import Upstreams

#: where each locked uv tool gets a directory of its own (its requirements and its venv), under the home
LOCKED_PREFIXES = ".local/share/uv-locked"
#: the lock's one file: `uv pip compile --universal --generate-hashes` output
REQUIREMENTS = "requirements.txt"
#: the Python a lock is resolved for when the tool names none: the image's uv tools run on
#: the first Python on PATH, which the default spec's mise installs (python@3.14.x). The
#: resolution is universal (every platform, this Python and later ones)
LOCK_PYTHON = "3.14"


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
        if ctx.package_lock(self.name, self.transitive_subject()):
            return Verification(
                "package-manager", f"uv pip install --require-hashes: every package's sha256 from locks/{self.name}/{REQUIREMENTS}"
            )
        return Verification("package-manager", "PyPI over HTTPS, exact version; dependencies unpinned (no transitive lock)")

    @property
    def lock_python(self) -> str:
        return self.python or LOCK_PYTHON

    def transitive_subject(self) -> str:
        return f"{self.package or self.name}=={self.version} for Python {self.lock_python}"

    def contribute(self, ctx: RenderContext) -> Contribution:
        cache = ctx.cache_mount(f"{ctx.home}/.cache/uv")
        package = self.package or self.name
        locked = ctx.package_lock(self.name, self.transitive_subject())
        if locked is None:
            return Contribution(body=UvInstall(cache=cache, package=package, version=self.version, python=self.python), dirs=[cache.target])
        prefix = f"{ctx.home}/{LOCKED_PREFIXES}/{self.name}"
        bin_dir = f"{ctx.home}/.local/bin"
        links = linked_commands(bin_dir, f"{prefix}/venv/bin", locked.commands)
        body = UvLockedInstall(
            cache=cache,
            sources=tuple(sorted(locked.files)),
            prefix=prefix,
            python=self.python,
            requirements=f"{prefix}/{REQUIREMENTS}",
            bin_dir=bin_dir,
            links=links,
        )
        return Contribution(body=body, dirs=[cache.target, bin_dir, prefix])

    def resolve_transitive(self, upstreams: Upstreams, workdir: Path) -> ResolvedPackages:
        """uv's universal resolution (every platform) for this version, with the sha256 of
        every file of every package; the commands are those the top package installs
        (console scripts and the scripts its wheel carries), read from the real wheel."""
        from generator.package_clients import run_client, uv_binary

        uv = uv_binary()
        index = f"{upstreams['pypi']}/simple"
        requirement = f"{self.package or self.name}=={self.version}"
        (workdir / "requirements.in").write_text(requirement + "\n", encoding="utf-8")
        # uv.toml files and UV_* variables change no byte of the lock; the resolution is for
        # `lock_python` whether or not it is installed here, so uv must not fetch an interpreter
        # (without --no-python-downloads it tries GitHub, and offline that costs seconds of retries)
        common = ["--no-config", "--no-python-downloads", "--index-url", index, "--cache-dir", "uv-cache", "--quiet"]
        compile_argv = [
            uv, "pip", "compile", "--universal", "--generate-hashes", "--python-version", self.lock_python,
            "--no-header", *common, "--output-file", REQUIREMENTS, "requirements.in",
        ]  # fmt: skip
        run_client(compile_argv, workdir, drop=("uv_",))
        run_client([uv, "pip", "install", "--no-deps", "--target", "top", *common, requirement], workdir, drop=("uv_",))
        scripts = workdir / "top" / "bin"
        commands = tuple(sorted(p.name for p in scripts.iterdir())) if scripts.is_dir() else ()
        return ResolvedPackages({REQUIREMENTS: (workdir / REQUIREMENTS).read_bytes()}, commands)


@dataclass(frozen=True)
class UvLockedInstall(TemplateData):
    """The lock's requirements COPYed into the tool's directory, a venv there, every
    package installed by its hash (no resolution, no build), the commands linked."""

    template: ClassVar[str] = "methods/uv-locked.j2"

    cache: CacheMount
    #: the lock's files in the build context
    sources: tuple[str, ...]
    prefix: str
    #: the Python the venv uses; None: uv's choice
    python: str | None
    #: the lock's requirements file, as COPYed into the prefix
    requirements: str
    #: where the commands are linked (~/.local/bin)
    bin_dir: str
    #: each command's link target, relative to bin_dir (the link takes the command's name)
    links: tuple[str, ...]


@dataclass(frozen=True)
class UvInstall(TemplateData):
    """`uv tool install` as the user (no transitive lock)."""

    template: ClassVar[str] = "methods/uv.j2"

    cache: CacheMount
    package: str
    version: str
    #: the Python the tool's environment uses; None: uv's choice
    python: str | None

"""npm: an npm package installed as the user: from its transitive lock (`npm ci` into a
prefix of its own, every package checked against the lock's sha512 integrity) once
`sandbox lock` made one, else `npm install --global` into ~/.local (the top package's
version pinned, its dependencies resolved at build time)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import field_validator

from generator.errors import UpstreamError
from generator.fields import CommandWord, NpmPackage, Version
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

#: where each locked npm tool gets a prefix of its own (package.json, the lock, node_modules), under the home
LOCKED_PREFIXES = ".local/lib/npm-locked"
#: the npm lock's files, as `npm ci` reads them from the prefix
LOCK_FILES = ("package.json", "package-lock.json")

#: a shell assignment word (NAME=value) before the command
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*")


class NpmTool(ToolBase):
    phase: ClassVar[Phase] = Phase.USER
    requires: ClassVar[tuple[str, ...]] = ("npm",)

    method: Literal["npm"]
    #: package name on the registry; defaults to the tool name
    package: NpmPackage | None = None
    version: Version
    #: one command run as the user right after the install, as argument words (e.g. a
    #: package's own installer that copies files into the user's config directory)
    setup: list[CommandWord] = []

    @field_validator("setup")
    @classmethod
    def _a_command_first(cls, words: list[str]) -> list[str]:
        """After any NAME=value assignments, the next word is what the shell runs: not an
        option or a name ending in '/' or '.', and there must be one (shellcheck, which
        `sandbox lint` runs, reads each as a typo: SC2215, SC2287, SC2288, SC2034)."""
        if not words:
            return words
        command = next((w for w in words if not _ASSIGNMENT.fullmatch(w)), None)
        if command is None:
            raise ValueError(f"setup runs no command: {' '.join(words)!r} only assigns variables")
        if (not command[0].isalnum() and command[0] not in "_./@+") or "=" in command or (command != "." and command.endswith(("/", "."))):
            raise ValueError(
                f"setup's command word {command!r} reads as a typo (an option, a word starting with ':' "
                "or holding '=', or a name ending in '/' or '.')"
            )
        return words

    @property
    def package_name(self) -> str:
        return self.package or self.name

    def purl(self, ctx: RenderContext) -> str:
        scope, _, name = self.package_name.rpartition("/")
        return purl("npm", name, self.version, namespace=scope or None)

    def upstream(self) -> Upstream | None:
        return Upstream("npm", self.package_name)

    def verification(self, ctx: RenderContext) -> Verification:
        if ctx.package_lock(self.name, self.transitive_subject()):
            return Verification("package-manager", f"npm ci: every package's sha512 integrity from locks/{self.name}/package-lock.json")
        return Verification("package-manager", "npm registry integrity hash, exact version; dependencies unpinned (no transitive lock)")

    def transitive_subject(self) -> str:
        return f"{self.package_name}@{self.version}"

    def contribute(self, ctx: RenderContext) -> Contribution:
        cache = ctx.cache_mount(f"{ctx.home}/.npm")
        locked = ctx.package_lock(self.name, self.transitive_subject())
        if locked is None:
            return Contribution(
                body=NpmInstall(cache=cache, package=self.package_name, version=self.version, setup=tuple(self.setup)),
                dirs=[cache.target],
            )
        prefix = f"{ctx.home}/{LOCKED_PREFIXES}/{self.name}"
        bin_dir = f"{ctx.home}/.local/bin"
        links = linked_commands(bin_dir, f"{prefix}/node_modules/.bin", locked.commands)
        body = NpmCi(cache=cache, sources=tuple(sorted(locked.files)), prefix=prefix, bin_dir=bin_dir, links=links, setup=tuple(self.setup))
        return Contribution(body=body, dirs=[cache.target, bin_dir, prefix])

    def resolve_transitive(self, upstreams: Upstreams, workdir: Path) -> ResolvedPackages:
        """npm's own lockfile for a project that depends on exactly this version: every
        package with its registry integrity (sha512), the optional packages of every
        platform included (npm records them all, whatever the host)."""
        from generator.package_clients import run_client

        manifest = {
            "name": f"sandbox-tool-{self.name}",
            "version": "0.0.0",
            "private": True,
            "dependencies": {self.package_name: self.version},
        }
        (workdir / "package.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        # the user's npm configuration (and npm_config_* variables) changes no byte of the lock
        for npmrc in ("user-npmrc", "global-npmrc"):
            (workdir / npmrc).write_text("", encoding="utf-8")
        config = [f"--registry={upstreams['npm']}/", "--userconfig=user-npmrc", "--globalconfig=global-npmrc", "--cache=npm-cache"]
        quiet = ["--ignore-scripts", "--no-audit", "--no-fund"]
        run_client(["npm", "install", "--package-lock-only", *quiet, *config], workdir, drop=("npm_config_",))
        # what the build runs, without installing: refuses a lock that misses a package
        # (npm leaves out an optional one the registry does not serve, e.g. another platform's)
        try:
            run_client(["npm", "ci", "--dry-run", *quiet, *config], workdir, drop=("npm_config_",))
        except UpstreamError as exc:
            raise UpstreamError(f"npm's lock for {self.transitive_subject()} would not install with npm ci: {exc}") from None
        lock_bytes = (workdir / "package-lock.json").read_bytes()
        commands = _checked_lock(json.loads(lock_bytes), self.package_name, self.version)
        return ResolvedPackages({"package.json": (workdir / "package.json").read_bytes(), "package-lock.json": lock_bytes}, commands)


def _checked_lock(lock: dict[str, Any], package: str, version: str) -> tuple[str, ...]:
    """The top package's commands, once the lock holds that version and an sha512 integrity
    for every package it would download (`npm ci` checks each tarball against it)."""
    packages = lock.get("packages") or {}
    top = packages.get(f"node_modules/{package}") or {}
    if top.get("version") != version:
        raise UpstreamError(f"npm resolved {package}@{top.get('version')} instead of {version}")
    missing = [
        path
        for path, entry in packages.items()
        if path and not entry.get("link") and not str(entry.get("integrity", "")).startswith("sha512-")
    ]
    if missing:
        raise UpstreamError(f"npm's lock has no sha512 integrity for {', '.join(sorted(missing)[:5])}; the registry gave none")
    bins = top.get("bin") or {}
    return tuple(sorted(bins if isinstance(bins, dict) else {}))


@dataclass(frozen=True)
class NpmCi(TemplateData):
    """The lock's files COPYed into the tool's prefix, `npm ci` there as the user, its
    commands linked into ~/.local/bin, then the package's setup command."""

    template: ClassVar[str] = "methods/npm-ci.j2"

    cache: CacheMount
    #: the lock's files in the build context
    sources: tuple[str, ...]
    prefix: str
    #: where the commands are linked (~/.local/bin)
    bin_dir: str
    #: each command's link target, relative to bin_dir (the link takes the command's name)
    links: tuple[str, ...]
    #: the setup command's words; empty: none
    setup: tuple[str, ...]


@dataclass(frozen=True)
class NpmInstall(TemplateData):
    """`npm install --global` into ~/.local as the user (no transitive lock), then the
    package's setup command."""

    template: ClassVar[str] = "methods/npm.j2"

    cache: CacheMount
    package: str
    version: str
    #: the setup command's words; empty: none
    setup: tuple[str, ...]

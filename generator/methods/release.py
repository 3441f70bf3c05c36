"""release: a prebuilt binary downloaded in its own stage, verified, and copied in.

Each release tool gets a stage ``FROM base``, so BuildKit fetches all of them in
parallel and a version bump rebuilds only that stage and one COPY.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from generator import placeholders
from generator.fields import ArchivePath, AssetName, BinaryName, NpmPackage, Reason, ReleaseUrl, Sha256, Version
from generator.methods.base import FETCH_SCRIPT, Contribution, Copy, Issue, Phase, TemplateData, ToolBase, Upstream, Verification
from generator.methods.context import RenderContext
from generator.purl import github, npm_tarball, purl

Arch = Literal["amd64", "arm64"]
Archive = Literal["raw", "tar.gz", "tar.xz", "tar.bz2", "zip"]


class Binary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    #: path of the file inside the archive (a template: generator/placeholders.py); omitted
    #: for raw downloads
    path: ArchivePath | None = None
    #: name it is installed under
    name: BinaryName


class ChecksumFile(BaseModel):
    """An upstream checksum file, fetched at build time (weaker than a pinned digest:
    it comes from the same place as the artifact)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    url: ReleaseUrl
    #: sha256sum: lines of "HASH  NAME" (or one bare HASH); bsd: "SHA256 (NAME) = HASH"
    format: Literal["sha256sum", "bsd"] = "sha256sum"


class Watch(BaseModel):
    """Where `sandbox outdated` and `update` look for new versions of a release tool instead
    of the GitHub releases its URL names: a registry package published with the same version
    numbers (opencode's npm packages carry the version of its GitHub release). Only what
    is listed is asked; the download, its digests and the SBOM still follow ``url``."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    #: an npm package whose versions are the tool's (the registry's stable versions, no
    #: higher than its ``latest`` dist-tag)
    npm: NpmPackage


class ReleaseTool(ToolBase):
    phase: ClassVar[Phase] = Phase.STAGE

    method: Literal["release"]
    version: Version
    #: download URL; its placeholders ({version}, {asset}, ...: generator/placeholders.py)
    #: are filled for each architecture
    url: ReleaseUrl
    #: asset file name per architecture ({version} and the architecture's names filled in)
    assets: dict[Arch, AssetName] = Field(min_length=1)
    #: archive type; inferred from the asset name when omitted
    archive: Archive | None = None
    #: files to install from the download; default: one binary named like the tool
    binaries: list[Binary] = []
    #: install this directory of the archive as /opt/<name> (for tools that need their
    #: runtime files next to them); binaries' paths are then relative to it
    tree: ArchivePath | None = None
    #: pinned sha256 per architecture, computed from the real artifacts
    sha256: dict[Arch, Sha256] | None = None
    #: upstream checksum file fetched at build time, when no digest is pinned
    checksum_file: ChecksumFile | None = None
    #: why the download cannot be verified (no upstream checksums, no pinned digest yet)
    unverified: Reason | None = None
    #: where newer versions are listed, when not the GitHub releases of ``url``
    watch: Watch | None = None

    @field_validator("binaries")
    @classmethod
    def _each_name_once(cls, binaries: list[Binary]) -> list[Binary]:
        names = [binary.name for binary in binaries]
        twice = next((name for name in names if names.count(name) > 1), None)
        if twice is not None:
            raise ValueError(
                f"the name {twice!r} is given to two binaries; each name is one command (a second name for one "
                "file is the same path under another name: installed as a hard link)"
            )
        return binaries

    @model_validator(mode="after")
    def _verifiable(self) -> ReleaseTool:
        if not (self.sha256 or self.checksum_file or self.unverified):
            raise ValueError(
                "say how the download is verified: sha256 per arch (from the real artifact), "
                "checksum_file (upstream), or unverified with a reason"
            )
        if self.archive_type == "raw" and any(b.path for b in self.binaries):
            raise ValueError("a raw download is the binary itself; binaries[].path only applies to archives")
        if self.archive_type != "raw" and not self.tree and not all(b.path for b in self.binaries or [Binary(name=self.name)]):
            raise ValueError("an archive needs binaries with the path of each file inside it")
        return self

    def base_packages_needed(self) -> tuple[str, ...]:
        unpacker = {"zip": "unzip", "tar.xz": "xz-utils", "tar.bz2": "bzip2"}.get(self.archive_type)
        return ("curl", unpacker) if unpacker else ("curl",)

    def platform_issues(self, arches: list[str]) -> Iterator[Issue]:
        for arch in arches:
            if arch not in self.assets:
                yield (
                    ("assets",),
                    f"no asset for {arch}; every entry of platforms needs one (add it, or disable the tool with a disabled_reason)",
                )
            elif self.sha256 is not None and arch not in self.sha256:
                yield ("sha256",), f"no sha256 for {arch}"

    @property
    def digests(self) -> dict[str, str]:
        """The spec's sha256 per arch, looked up by the plain arch strings the context uses."""
        return {arch: digest for arch, digest in (self.sha256 or {}).items()}

    @property
    def asset_names(self) -> dict[str, str]:
        """The asset name pattern per arch, looked up by the plain arch strings the context uses."""
        return {arch: name for arch, name in self.assets.items()}

    @property
    def archive_type(self) -> str:
        if self.archive:
            return self.archive
        suffix = placeholders.archive_suffix(next(iter(self.assets.values())))
        return placeholders.ARCHIVE_SUFFIXES.get(suffix, "raw")

    @property
    def installed(self) -> list[Binary]:
        return self.binaries or [Binary(name=self.name, path=None if self.archive_type == "raw" else self.name)]

    def commands(self) -> list[str]:
        return list(self.provides) or [b.name for b in self.installed]

    def fill(self, template: str, arch: str, *, version: bool = True) -> str:
        """One of the tool's templates filled for ``arch`` (generator/placeholders.py); with
        ``version`` False, {version} is left for files/sandbox-install-release to fill."""
        values = placeholders.release_values(self.asset_names[arch], arch, self.version if version else None)
        return placeholders.fill(template, values)

    def asset_url(self, arch: str) -> str:
        return self.fill(self.url, arch)

    def asset_name(self, arch: str) -> str:
        return self.fill(self.asset_names[arch], arch)

    def downloads(self, ctx: RenderContext) -> list[tuple[str, str]]:
        return [(arch, self.asset_url(arch)) for arch in ctx.arches if arch in self.assets]

    def checksum_file_for(self, key: str) -> tuple[str, str, str] | None:
        if not self.checksum_file or key not in self.assets:
            return None
        return self.fill(self.checksum_file.url, key), self.checksum_file.format, self.asset_name(key)

    def verification(self, ctx: RenderContext) -> Verification:
        if all(ctx.locked_sha256(self.name, arch, self.asset_url(arch)) for arch in ctx.arches if arch in self.assets):
            # what was really checked: `sandbox lock` records a digest only once the checksum
            # file lists it; without one (and unless sandbox.yaml pins the same), the digest is
            # that of the bytes served when locked
            first_use = self.first_use_verification(ctx, "sha256")
            if first_use:
                return first_use
            if self.checksum_file:
                return Verification("pinned-digest", "sha256 from sandbox.lock (matched the checksum file when locked)")
            return Verification("pinned-digest", "sha256 from sandbox.lock (the same as sandbox.yaml's)")
        if self.sha256:
            return Verification("pinned-digest", "sha256 in sandbox.yaml")
        if self.checksum_file:
            return Verification("checksum-file", "upstream checksum file fetched at build time")
        return Verification("unverified", self.unverified or "")

    def spec_sha256(self, key: str) -> str | None:
        return self.digests.get(key)

    def purl(self, ctx: RenderContext) -> str:
        """pkg:github/OWNER/REPO@TAG for a GitHub release (the tag as it appears in the
        download URL, e.g. v1.26.0); pkg:npm/... for the npm registry's tarball of a package
        at the tool's version, when every platform built downloads that one package (pnpm's
        binary is a package per platform: a two-platform image holds two, which one purl
        cannot name, and each download in the SBOM names its own); pkg:generic/NAME@VERSION
        otherwise."""
        arches = [a for a in ctx.arches if a in self.assets] or [next(iter(self.assets))]
        packages = {npm_tarball(self.asset_url(a), self.version) for a in arches}
        if len(packages) == 1 and (package := packages.pop()) is not None:
            return package
        url = self.asset_url(arches[0])
        head, found, rest = url.partition("/releases/download/")
        # the tag is all between /releases/download/ and the asset (it may hold a slash:
        # rustsec's cargo-audit/v0.22.2)
        tag = rest.rsplit("/", 1)[0] if found and "/" in rest else self.version
        return github(head if found else url, tag) or purl("generic", self.name, self.version)

    def upstream(self) -> Upstream | None:
        if self.watch is not None:
            return Upstream("npm", self.watch.npm)
        return Upstream("github-releases", self.url)

    def digest(self, ctx: RenderContext, arch: str) -> str | None:
        return ctx.locked_sha256(self.name, arch, self.asset_url(arch)) or self.digests.get(arch)

    def base_scripts_needed(self) -> tuple[str, ...]:
        # the installer fetches through sandbox-fetch
        return (FETCH_SCRIPT, INSTALL_SCRIPT)

    def contribute(self, ctx: RenderContext) -> Contribution:
        """The stage states the facts, one per line: what is the same for every architecture
        once, then each architecture's asset and what differs, every template filled but
        {version}, which files/sandbox-install-release fills from --version (so a version bump
        changes one line); the script fetches, verifies, unpacks and installs."""
        arches = [arch for arch in ctx.arches if arch in self.assets]
        # A digest beats the checksum file; digests can be locked for some platforms only
        # (`sandbox lock --platform`), so the script decides per TARGETARCH.
        unpinned = not all(self.digest(ctx, arch) for arch in arches)
        sums = self.checksum_file if unpinned else None
        facts = {arch: self._facts(ctx, arch, sums) for arch in arches}
        fields = [field.name for field in dataclasses.fields(ReleaseFacts)]
        shared = [name for name in fields if len({getattr(each, name) for each in facts.values()}) == 1]
        first = next(iter(facts.values()), ReleaseFacts())
        return Contribution(
            body=ReleaseStage(
                name=self.name,
                stage=self.stage_name,
                verification=str(self.verification(ctx)),
                command=INSTALL_SCRIPT,
                version=self.version,
                shared=_only(first, shared),
                checksums_format=sums.format if sums and sums.format != "sha256sum" else None,
                unverified=unpinned and not sums,
                archive=self.archive_type,
                assets=tuple(
                    (arch, self.fill(self.asset_names[arch], arch, version=False), _only(facts[arch], set(fields) - set(shared)))
                    for arch in arches
                ),
            ),
            copies=[Copy(self.stage_name, "/out/", "/")],
        )

    def _facts(self, ctx: RenderContext, arch: str, sums: ChecksumFile | None) -> ReleaseFacts:
        """What the script is told for ``arch``: URLs relative to the download's directory
        where they are inside it; the binaries' paths (a raw download: the asset itself)."""
        url = self.fill(self.url, arch, version=False)
        directory = url[: url.rindex("/") + 1]
        asset = self.fill(self.asset_names[arch], arch, version=False)
        relative = _relative(url, directory)
        return ReleaseFacts(
            source=directory,
            url=None if relative == asset else relative,
            sha256=self.digest(ctx, arch),
            checksums=_relative(self.fill(sums.url, arch, version=False), directory) if sums else None,
            tree=self.fill(self.tree, arch, version=False) if self.tree else None,
            binaries=tuple((b.name, self.fill(b.path, arch, version=False) if b.path else asset) for b in self.installed),
        )


def _relative(url: str, directory: str) -> str:
    """``url`` as the script reads it beside --from ``directory``: the rest, when ``url`` is
    inside it and the rest cannot be read as a URL of its own."""
    rest = url.removeprefix(directory)
    return rest if rest and rest != url and "://" not in rest else url


#: the script in files/ that release stages run (COPYed into the base stage)
INSTALL_SCRIPT = "sandbox-install-release"


@dataclass(frozen=True)
class ReleaseFacts:
    """The options of the script that may differ between architectures: given once, before
    the first --asset, when the same for all of them, else after each one's --asset. Values
    hold {version} unfilled; None (or no binaries) is no option."""

    #: --from: the directory of the download (relative URLs below are inside it)
    source: str | None = None
    #: --url: the download, when it is not the asset's name inside --from
    url: str | None = None
    #: --sha256: the pinned digest
    sha256: str | None = None
    #: --checksums: the checksum file's URL (relative: inside --from), when a digest is missing
    checksums: str | None = None
    #: --tree
    tree: str | None = None
    #: --binary: (name installed, path in the archive or tree)
    binaries: tuple[tuple[str, str], ...] = ()


def _only(facts: ReleaseFacts, names: Collection[str]) -> ReleaseFacts:
    """``facts`` with only the fields ``names`` (the others at their defaults: no option)."""
    return ReleaseFacts(**{name: getattr(facts, name) for name in names})


@dataclass(frozen=True)
class ReleaseStage(TemplateData):
    """The stage that runs files/sandbox-install-release with the tool's facts as options."""

    template: ClassVar[str] = "methods/release.j2"

    name: str
    stage: str
    verification: str
    #: the install script
    command: str
    #: what the script fills {version} with
    version: str
    #: the facts the same for every architecture
    shared: ReleaseFacts
    #: the checksum file's format, unless the script's default (sha256sum)
    checksums_format: str | None
    #: neither a digest nor a checksum file for some arch
    unverified: bool
    archive: str
    #: (arch, asset name, the facts of that arch alone)
    assets: tuple[tuple[str, str, ReleaseFacts], ...]

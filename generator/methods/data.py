"""The values install methods hand to the rest of the generator through their hooks
(see ``generator/methods/protocol.py``): frozen data, no behaviour beyond formatting."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar, Literal


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
class TemplateData:
    """What one template under templates/ lays out: a method's subclass holds exactly the
    fields its template uses (raw values: the template quotes them), and names the template."""

    template: ClassVar[str]


@dataclass(frozen=True)
class CacheMount:
    """A BuildKit cache mount that a step run as the user writes through."""

    target: str
    uid: int
    gid: int


@dataclass(frozen=True)
class Copy:
    """A COPY --from into the final image."""

    stage: str
    source: str
    dest: str
    as_user: bool = False


@dataclass
class Contribution:
    """What one tool adds to the Dockerfile: rendered by the generic renderer."""

    #: what the method's template lays out, in the method's phase
    body: TemplateData
    copies: list[Copy] = field(default_factory=list)
    #: directories under the home this step writes through (cache-mount targets): the
    #: renderer creates them owned by the user first, because BuildKit would otherwise
    #: leave root-owned mount points in the image
    dirs: list[str] = field(default_factory=list)
    #: a build stage of its own for a method whose phase is not STAGE (fetch and verify
    #: there, install in the final stage): laid out by its own template, among the stages
    stage: TemplateData | None = None


#: the kind (for `sandbox list`, `audit`, the SBOM and the Dockerfile) of a digest that
#: `sandbox lock` took from the bytes it was served and checked against nothing independent:
#: no upstream checksum file, no equal sha256 in sandbox.yaml. That is trust on first use: it
#: pins the bytes (a later change is refused) but does not verify the first ones
FIRST_USE_KIND = "pinned-on-first-use"
#: the words all of them use for such a digest
FIRST_USE = "pinned on first use by sandbox lock (the bytes served when locked, checked against nothing independent)"


@dataclass(frozen=True)
class Verification:
    """How a tool's bytes are checked: shown by `sandbox list` and `sandbox audit`."""

    #: pinned-digest, pinned-on-first-use, checksum-file, package-manager, git-commit, unverified
    kind: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind} ({self.detail})" if self.detail else self.kind


@dataclass(frozen=True)
class SbomDownload:
    """One file the build fetches for a component: the key `sandbox lock` files it under
    (an arch such as amd64, or a name such as script), its URL, and its sha256 when
    sandbox.lock or sandbox.yaml has one (never computed or guessed)."""

    key: str
    url: str
    sha256: str | None = None
    #: where the sha256 comes from: sandbox.lock or sandbox.yaml
    sha256_from: str | None = None
    #: the lock's sha256 was taken on first use (see FIRST_USE), not checked when locked
    first_use: bool = False


@dataclass(frozen=True)
class SbomComponent:
    """What `sandbox sbom` lists for one piece of the image, whatever the output format."""

    name: str
    #: the version the spec pins (for apt, the pin as written); None when it pins none
    version: str | None
    purl: str
    #: the tool of the spec this comes from (an apt tool gives one component per package)
    tool: str
    method: str
    verification: str
    downloads: tuple[SbomDownload, ...] = ()
    #: a source checkout: (repository URL, commit)
    vcs: tuple[str, str | None] | None = None
    #: application, library, container, ... (CycloneDX's component types)
    kind: str = "application"
    #: extra facts, shown as properties (sandbox:KEY)
    properties: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, order=True)
class Pin:
    """A digest sandbox.lock holds for one download: the key it is filed under, the URL it
    was recorded from, and the sha256."""

    key: str
    url: str
    sha256: str


@dataclass(frozen=True, order=True)
class Finding:
    """One line of `sandbox audit`: something fetched unpinned or unverified, and why."""

    subject: str
    kind: str
    reason: str
    #: a pinned-on-first-use finding: the lock's digest of each download concerned
    pins: tuple[Pin, ...] = ()
    #: whether `sandbox audit --strict` fails on it (the spec's policy decides for some kinds)
    fails_strict: bool = True

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {"subject": self.subject, "kind": self.kind, "reason": self.reason}
        if self.pins:
            found["pins"] = [{"key": p.key, "url": p.url, "sha256": p.sha256} for p in self.pins]
        found["fails_strict"] = self.fails_strict
        return found


#: the listings `sandbox outdated` can ask (their clients are in generator/supply/sources.py)
Listing = Literal[
    "github-releases",  # subject: a release download URL under the GitHub host
    "github-commits",  # subject: a repository URL under the GitHub host; branch: None for the default
    "pypi",  # subject: the project
    "npm",  # subject: the package
    "crates",  # subject: the crate
    "goproxy",  # subject: a package path (its module is found along it)
    "node-index",  # nodejs.org/dist: no subject
    "python-index",  # python.org: no subject
    "go-index",  # go.dev/dl: no subject
]


@dataclass(frozen=True)
class Upstream:
    """Where newer versions of a tool are listed, as data: which listing and what to ask it.
    The clients live in generator/supply/, so rendering never imports HTTP code."""

    listing: Listing
    subject: str = ""
    branch: str | None = None


@dataclass(frozen=True)
class Tracked:
    """What `sandbox outdated` compares with upstream and `sandbox update` rewrites."""

    #: the spec key an update rewrites: version, or a git tool's commit
    field: str
    #: its value now; None when nothing is pinned yet (a git tool without a commit)
    current: str | None
    upstream: Upstream | None
    #: a human-readable version kept beside a pinned commit (git's version:), if any
    label: str | None = None


@dataclass(frozen=True)
class ResolvedPackages:
    """What a package manager resolved for `sandbox lock` (a tool's transitive lock): its
    own lock files, by file name (written under locks/TOOL/), and the commands the top
    package installs (linked into the user's bin directory by the build)."""

    files: dict[str, bytes]
    commands: tuple[str, ...]

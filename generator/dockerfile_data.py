"""What templates/Dockerfile.j2 lays out, as frozen data, and how each part is read off the spec.

Each part is decided here, in Python (which directories the user owns, which labels the
image carries, what the health check runs); the template writes the instructions and says
where a value is quoted (``shell_quote``, ``dockerfile_quote``, ``exec_form``). The install
methods' blocks arrive already rendered from their own templates (generator.render).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from generator.methods.context import RenderContext
from generator.methods.data import Copy
from generator.paths import SBOM_CONTEXT_PATH, SBOM_IMAGE_PATH, script_in_context
from generator.spec import DATA_DIRS_ENV, Spec

#: dpkg path filters for base.exclude_docs: the set ubuntu's minimized images use for
#: themselves, so a Debian base gets the same and an Ubuntu base nothing new
DOC_FILTERS = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/groff/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/lintian/*",
    "path-exclude=/usr/share/linda/*",
    "path-exclude=/usr/share/locale/*/LC_MESSAGES/*.mo",
)

#: user directories only their owner may read: ssh refuses keys that others can reach
PRIVATE_DIR_NAMES = frozenset({".ssh", ".gnupg"})

#: what the image is (name, profile, version, revision, creation time) as shell-readable
#: KEY=value lines, for tools inside the container; the same facts as the OCI labels
RELEASE_FILE = "/etc/sandbox-release"


@dataclass(frozen=True)
class BaseScript:
    """A script of the generator's files/ that the base stage COPYs in for the tool stages."""

    name: str
    #: its path in the build context
    source: str


@dataclass(frozen=True)
class BaseStage:
    """The stage every other one starts from: the distribution and what fetching needs."""

    reference: str
    packages: tuple[str, ...]
    #: dpkg path filters (empty: docs are kept)
    doc_filters: tuple[str, ...]
    #: why some base packages are unpinned; None when all are pinned
    unpinned_reason: str | None
    scripts: tuple[BaseScript, ...]


@dataclass(frozen=True)
class Owner:
    uid: int
    gid: int


@dataclass(frozen=True)
class CopyStep:
    """One COPY into the final stage."""

    source: str
    dest: str
    #: the build stage it copies from; None: the build context
    from_stage: str | None = None
    #: who owns the copy; None: root
    owner: Owner | None = None
    #: the file mode it gets (COPY --chmod)
    mode: str | None = None


def sudoers_line(name: str, sudo: bool | list[str]) -> str | None:
    """The user's sudoers rule: every command, or only the listed programs (as root)."""
    if sudo is True:
        return f"{name} ALL=(ALL) NOPASSWD:ALL"
    if not sudo:
        return None
    return f"{name} ALL=(root) NOPASSWD: {', '.join(sudo)}"


@dataclass(frozen=True)
class UserSetup:
    """The image's user and the directories it must own."""

    name: str
    uid: int
    gid: int
    home: str
    shell: str
    #: the user's line of /etc/sudoers.d (None: no sudo)
    sudoers: str | None
    #: created owned by the user, parents first
    dirs: tuple[str, ...]
    #: of those, the ones only the user may read
    private_dirs: tuple[str, ...]


@dataclass(frozen=True)
class Healthcheck:
    interval: str
    timeout: str
    start_period: str
    retries: int
    #: the exec form's words
    command: tuple[str, ...]


@dataclass(frozen=True)
class RuntimeSettings:
    """How the container runs: its environment, port, volumes, health check and command."""

    env: tuple[tuple[str, str], ...]
    port: int
    volumes: tuple[str, ...]
    healthcheck: Healthcheck
    workdir: str
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]


@dataclass(frozen=True)
class ReleaseFile:
    """/etc/sandbox-release and the SBOM, which reach the image together in its last layer."""

    path: str
    image_name: str
    sbom_source: str
    sbom_dest: str

    @property
    def directory(self) -> str:
        return posixpath.dirname(self.path)


@dataclass(frozen=True)
class DockerfileData:
    """Everything templates/Dockerfile.j2 lays out, in the order it lays it out."""

    #: the spec's file name, for the header
    source: str
    profile: str
    profile_note: str | None
    base: BaseStage
    #: the install methods' blocks, rendered, by where they go
    stages: tuple[str, ...]
    system: tuple[str, ...]
    toolchains: tuple[str, ...]
    user_steps: tuple[str, ...]
    user: UserSetup
    #: what the tools' stages hand to the final stage
    copies: tuple[CopyStep, ...]
    #: the spec's files:
    files: tuple[CopyStep, ...]
    #: the spec's path: directories, put before the inherited PATH
    path: tuple[str, ...]
    runtime: RuntimeSettings
    #: OCI labels (key, value) besides version, revision and created (build arguments)
    labels: tuple[tuple[str, str], ...]
    release_file: ReleaseFile


def base_stage(spec: Spec, ctx: RenderContext, scripts: list[str]) -> BaseStage:
    base = spec.base
    unpinned = any("=" not in p for p in base.packages)
    return BaseStage(
        reference=ctx.pinned_image(base.reference),
        packages=tuple(base.packages),
        doc_filters=DOC_FILTERS if base.exclude_docs else (),
        unpinned_reason=(base.unpinned_reason or "base packages follow the distribution's updates") if unpinned else None,
        scripts=tuple(BaseScript(name, script_in_context(name)) for name in scripts),
    )


def owner(spec: Spec) -> Owner:
    return Owner(spec.user.uid, spec.user.gid)


def user_setup(spec: Spec, tool_dirs: list[str]) -> UserSetup:
    """The user, and the directories it owns: its workspace, the volumes, and the directories
    the tools write through (their cache mounts)."""
    user = spec.user
    dirs = user_dirs(user.home_dir, [user.workspace_dir, *spec.volume_dirs, *tool_dirs])
    return UserSetup(
        name=user.name,
        uid=user.uid,
        gid=user.gid,
        home=user.home_dir,
        shell=user.shell,
        sudoers=sudoers_line(user.name, user.sudo),
        dirs=tuple(dirs),
        private_dirs=tuple(d for d in dirs if posixpath.basename(d) in PRIVATE_DIR_NAMES),
    )


def user_dirs(home: str, paths: list[str]) -> list[str]:
    """The paths plus every missing ancestor below the home, parents first: `install -d -o`
    gives only the last component to the user, so ~/.local/share/x would leave a
    root-owned ~/.local that the user's installs then cannot write to."""
    result: dict[str, None] = {}
    for path in paths:
        path = path.rstrip("/") or "/"
        if path.startswith(home + "/"):
            parts = path[len(home) + 1 :].split("/")
            for depth in range(1, len(parts)):
                result.setdefault(f"{home}/{'/'.join(parts[:depth])}")
        result.setdefault(path)
    return list(result)


def tool_copy(copy: Copy, user: Owner) -> CopyStep:
    """A tool's COPY out of its stage; owned by the user when the method asks for it."""
    return CopyStep(copy.source, copy.dest, from_stage=copy.stage, owner=user if copy.as_user else None)


def file_copies(spec: Spec, ctx: RenderContext) -> tuple[CopyStep, ...]:
    """The spec's files:, each owned by the user or root, with its mode if the spec sets one."""
    user = owner(spec)
    return tuple(CopyStep(f.src, ctx.expand_home(f.dest), owner=user if f.user_owned else None, mode=f.mode) for f in spec.files)


def runtime_env(spec: Spec) -> dict[str, str]:
    """The spec's environment, plus the data directories for the entrypoint."""
    env = dict(spec.env)
    if spec.volume_dirs:
        env[DATA_DIRS_ENV] = ":".join(spec.volume_dirs)
    return env


def runtime_settings(spec: Spec) -> RuntimeSettings:
    runtime = spec.runtime
    health = runtime.healthcheck
    url = f"http://127.0.0.1:{runtime.port}{health.path}"
    bind = [arg.replace("{host}", runtime.host).replace("{port}", str(runtime.port)) for arg in runtime.bind_args]
    check = [health.script, url] if health.script else ["curl", "--fail", "--silent", "--show-error", "--output", "/dev/null", url]
    return RuntimeSettings(
        env=tuple(runtime_env(spec).items()),
        port=runtime.port,
        volumes=tuple(spec.volume_dirs),
        healthcheck=Healthcheck(health.interval, health.timeout, health.start_period, health.retries, tuple(check)),
        workdir=spec.user.workspace_dir,
        entrypoint=(runtime.init, "--", *([runtime.entrypoint] if runtime.entrypoint else [])),
        cmd=(*runtime.command, *bind),
    )


def labels(spec: Spec) -> tuple[tuple[str, str], ...]:
    """The OCI labels the spec gives (its own, the base image's name, then the extra ones)."""
    image_labels = spec.image.labels
    found = {f"org.opencontainers.image.{key}": value for key, value in image_labels.model_dump(exclude={"extra"}).items()}
    found["org.opencontainers.image.base.name"] = spec.base.reference
    found.update(image_labels.extra)
    return tuple(found.items())


def release_file(spec: Spec) -> ReleaseFile:
    return ReleaseFile(RELEASE_FILE, spec.image.name, SBOM_CONTEXT_PATH, SBOM_IMAGE_PATH)


def path_dirs(spec: Spec, ctx: RenderContext) -> tuple[str, ...]:
    return tuple(ctx.expand_home(p) for p in spec.path)

"""Spec -> Dockerfile text. All decisions are made here in Python; templates lay out."""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from functools import cache
from itertools import groupby
from pathlib import Path

import jinja2

from generator.errors import UsageError
from generator.filters import FILTERS, LINE_LIMIT, TESTS, dockerfile_quote, fold_word, shell_quote
from generator.lockfile import Lock
from generator.methods import InstallMethod, Phase
from generator.methods.context import RenderContext
from generator.paths import SBOM_CONTEXT_PATH, SBOM_IMAGE_PATH, private_to_user, script_in_context, templates_dir, user_cache_dir
from generator.spec import DATA_DIRS_ENV, Spec


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs: compiling them from source is a tenth of a
    `sandbox check` (see bench/). Entries are keyed by the template's source, so an edited
    template is compiled afresh; a cache that cannot be read or written is skipped. Loading an
    entry runs its code, so one that another user could have written is compiled afresh too
    (the directory itself is private: paths.user_cache_dir)."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if not private_to_user(Path(self._get_cache_filename(bucket))):
            return
        try:
            super().load_bytecode(bucket)
        except Exception:  # noqa: BLE001 - a truncated or foreign entry (pickle, marshal): compile instead
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)  # atomic: temp file + rename
        except OSError:
            pass


def _bytecode_cache() -> _BytecodeCache | None:
    directory = user_cache_dir("jinja")
    return _BytecodeCache(str(directory)) if directory is not None else None


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters.update(FILTERS)
    env.tests.update(TESTS)
    return env


def _copy_line(flags: str, source: str, dest: str) -> str:
    """COPY on one line, or with each path on a line of its own when that would be too long."""
    line = f"COPY {flags}{source} {dest}"
    return line if len(line) <= LINE_LIMIT else f"COPY {flags.rstrip()} \\\n     {source} \\\n     {dest}"


def _partial(template: str, body: dict) -> str:
    return environment().get_template(template).render(**body).rstrip("\n")


@dataclass(frozen=True)
class Block:
    """One rendered block and the tools it installs (several when `combine` merged them)."""

    text: str
    tools: tuple[str, ...]


def _blocks(entries: list[tuple[InstallMethod, dict]]) -> list[Block]:
    """The blocks of one phase: consecutive tools of one method are handed to its `combine`
    together (apt merges them into one RUN; the others keep one block each). A combine that
    keeps one body per tool keeps their owners; one that merges them makes a block all of
    them own."""
    blocks: list[Block] = []
    for kind, group in groupby(entries, key=lambda entry: type(entry[0])):
        members = list(group)
        bodies = kind.combine([body for _, body in members])
        names = [tool.name for tool, _ in members]
        owners = [(name,) for name in names] if len(bodies) == len(members) else [tuple(names)] * len(bodies)
        blocks += [Block(_partial(kind.template, body), owner) for body, owner in zip(bodies, owners, strict=True)]
    return blocks


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


def _user_dirs(home: str, paths: list[str]) -> list[str]:
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


#: what the image is (name, profile, version, revision, creation time) as shell-readable
#: KEY=value lines, for tools inside the container; the same facts as the OCI labels
RELEASE_FILE = "/etc/sandbox-release"


def _runtime_env(spec: Spec) -> dict[str, str]:
    """The spec's environment, plus the data directories for the entrypoint."""
    env = dict(spec.env)
    if spec.runtime.volumes:
        env[DATA_DIRS_ENV] = ":".join(spec.runtime.volumes)
    return env


#: the instructions that make a numbered BuildKit step (and a history entry with a layer)
LAYER_INSTRUCTIONS = ("RUN", "COPY", "ADD", "WORKDIR")


def instructions(text: str) -> list[str]:
    """The keywords of the layer instructions in ``text`` (a block this module rendered), in
    order: used to count a block's steps, never to find out what they install."""
    words = []
    continued = False
    for line in text.splitlines():
        stripped = line.strip()
        if not continued and stripped and not stripped.startswith("#"):
            word = stripped.split(maxsplit=1)[0].upper()
            if word in LAYER_INSTRUCTIONS:
                words.append(word)
        if stripped and not stripped.startswith("#"):
            continued = stripped.endswith("\\")
    return words


@dataclass(frozen=True)
class FinalStep:
    """One layer instruction of the final stage, in order, and what it installs."""

    instruction: str
    #: the tools it installs: one, several (a merged apt RUN), none (the image's own setup)
    tools: tuple[str, ...]
    #: tools, user (the user and its directories), files (the spec's files:), workdir,
    #: release-file (/etc/sandbox-release and the SBOM)
    role: str


@dataclass(frozen=True)
class ImageLayout:
    """Which tool each build stage and each final-stage layer belongs to: what `sandbox cost`
    attributes build times and bytes with. Built with the Dockerfile data, in the template's
    order (tests compare it with the rendered final stage)."""

    #: a tool's own stage (fetch, verify, compile) -> the tool
    stages: dict[str, str]
    final: tuple[FinalStep, ...]
    #: the layer instructions of the base stage (which every stage and the image start from)
    base: tuple[str, ...]
    #: the stage names of the base and the final stage, and of the release file's stage
    base_stage: str = "base"
    final_stage: str = "sandbox"
    release_file_stage: str = "release-file"


def _steps(blocks: list[Block]) -> list[FinalStep]:
    return [FinalStep(word, block.tools, "tools") for block in blocks for word in instructions(block.text)]


def dockerfile_data(spec: Spec, profile: str, lock: Lock) -> dict:
    return _prepare(spec, profile, lock)[0]


def layout(spec: Spec, profile: str | None = None, lock: Lock | None = None) -> ImageLayout:
    """The layout of the profile's image (see :class:`ImageLayout`)."""
    profile = _checked_profile(spec, profile)
    return _prepare(spec, profile, lock if lock is not None else Lock.beside(spec.source))[1]


def _prepare(spec: Spec, profile: str, lock: Lock) -> tuple[dict, ImageLayout]:
    """The template's data and the image's layout, from one pass over the tools."""
    ctx = RenderContext(spec, profile, lock)
    tools = sorted(spec.tools_for(profile), key=lambda t: t.phase)  # stable: spec order within a phase
    entries: dict[Phase, list[tuple[InstallMethod, dict]]] = {phase: [] for phase in Phase}
    copies: list[str] = []
    copy_owners: list[str] = []
    tool_dirs: list[str] = []
    user = spec.user
    chown = f"--chown={user.uid}:{user.gid} "
    for tool in tools:
        contribution = tool.contribute(ctx)
        if contribution.stage is not None:
            entries[Phase.STAGE].append((tool, contribution.stage))
        entries[tool.phase].append((tool, contribution.body))
        tool_dirs += contribution.dirs
        for copy in contribution.copies:
            copies.append(_copy_line(f"{chown if copy.as_user else ''}--from={copy.stage} ", copy.source, copy.dest))
            copy_owners.append(tool.name)

    blocks = {phase: _blocks(found) for phase, found in entries.items()}
    runtime = spec.runtime
    health = runtime.healthcheck
    url = f"http://127.0.0.1:{runtime.port}{health.path}"
    bind = [arg.replace("{host}", runtime.host).replace("{port}", str(runtime.port)) for arg in runtime.bind_args]
    path_dirs = [ctx.expand_home(p) for p in spec.path]
    labels = {
        f"org.opencontainers.image.{key}": value
        for key, value in spec.image.labels.model_dump(exclude={"extra"}).items()
    }
    labels["org.opencontainers.image.base.name"] = spec.base.reference
    labels.update(spec.image.labels.extra)
    label_pairs = [f"{key}={fold_word(dockerfile_quote(value), len(key) + 7)}" for key, value in labels.items()]
    label_pairs += [f'org.opencontainers.image.{key}="${{SANDBOX_{key.upper()}}}"' for key in ("version", "revision", "created")]
    unpinned = [p for p in spec.base.packages if "=" not in p]
    # each once, however many stages run it
    base_scripts = list(dict.fromkeys(script for tool in tools for script in tool.base_scripts_needed()))
    user_dirs = _user_dirs(user.home_dir, [user.workspace_dir, *runtime.volumes, *tool_dirs])
    data = {
        "source": spec.source.name if spec.source else "sandbox.yaml",
        "profile": profile,
        "profile_note": spec.profiles[profile].description,
        "base": {
            "reference": ctx.pinned_image(spec.base.reference),
            "packages": [shell_quote(p) for p in spec.base.packages],
            "doc_filters": [shell_quote(f) for f in DOC_FILTERS] if spec.base.exclude_docs else [],
            "unpinned_reason": (spec.base.unpinned_reason or "base packages follow the distribution's updates")
            if unpinned
            else None,
            "scripts": [{"source": script_in_context(name), "name": name} for name in base_scripts],
        },
        "stages": [block.text for block in blocks[Phase.STAGE]],
        "system": [block.text for block in blocks[Phase.SYSTEM]],
        "toolchains": [block.text for block in blocks[Phase.TOOLCHAIN]],
        "user_steps": [block.text for block in blocks[Phase.USER]],
        "copies": copies,
        "user": {
            "name": user.name,
            "uid": user.uid,
            "gid": user.gid,
            "home": user.home_dir,
            "shell": user.shell,
            "sudo": user.sudo,
            "dirs": [shell_quote(d) for d in user_dirs],
            "private_dirs": " ".join(shell_quote(d) for d in user_dirs if posixpath.basename(d) in PRIVATE_DIR_NAMES),
        },
        "path": [*path_dirs, "${PATH}"] if path_dirs else [],
        "files": [
            _copy_line(f"{chown if f.user_owned else ''}{f'--chmod={f.mode} ' if f.mode else ''}", f.src, ctx.expand_home(f.dest))
            for f in spec.files
        ],
        "env": [f"{key}={fold_word(dockerfile_quote(value), len(key) + 5)}" for key, value in _runtime_env(spec).items()],
        "release_file": {
            "path": RELEASE_FILE,
            "dir": RELEASE_FILE.rsplit("/", 1)[0],
            "fields": [("NAME", shell_quote(spec.image.name)), ("PROFILE", shell_quote(profile))]
            + [(key.upper(), f'"${{SANDBOX_{key.upper()}}}"') for key in ("version", "revision", "created")],
        },
        "labels": label_pairs,
        "sbom": {"source": SBOM_CONTEXT_PATH, "dest": SBOM_IMAGE_PATH},
        "port": runtime.port,
        "volumes": [json.dumps(volume) for volume in runtime.volumes],
        "healthcheck": {
            "options": f"--interval={health.interval} --timeout={health.timeout} "
            f"--start-period={health.start_period} --retries={health.retries}",
            "command": json.dumps(
                [health.script, url]
                if health.script
                else ["curl", "--fail", "--silent", "--show-error", "--output", "/dev/null", url]
            ),
        },
        "workdir": user.workspace_dir,
        "entrypoint": json.dumps([runtime.init, "--", *([runtime.entrypoint] if runtime.entrypoint else [])]),
        "cmd": json.dumps([*runtime.command, *bind]),
    }
    # the final stage's layer instructions in the order Dockerfile.j2 lays them out
    final = [
        *_steps(blocks[Phase.SYSTEM]),
        FinalStep("RUN", (), "user"),
        *(FinalStep("COPY", (owner,), "tools") for owner in copy_owners),
        *(FinalStep("COPY", (), "files") for _ in spec.files),
        *_steps(blocks[Phase.TOOLCHAIN]),
        *_steps(blocks[Phase.USER]),
        FinalStep("WORKDIR", (), "workdir"),
        FinalStep("COPY", (), "release-file"),
    ]
    stages = {tool.stage_name: tool.name for tool in tools}
    # the base stage: apt set-up, the base packages, then the generator's scripts it copies in
    base = ("RUN", "RUN", *("COPY" for _ in base_scripts))
    return data, ImageLayout(stages=stages, final=tuple(final), base=base)


def _checked_profile(spec: Spec, profile: str | None) -> str:
    profile = profile or spec.default_profile
    if profile not in spec.profiles:
        raise UsageError(f"unknown profile {profile!r}; the spec declares: {', '.join(spec.profiles)}")
    return profile


def render(spec: Spec, profile: str | None = None, lock: Lock | None = None) -> str:
    """The Dockerfile for one profile of the spec (the first declared one by default)."""
    profile = _checked_profile(spec, profile)
    lock = lock if lock is not None else Lock.beside(spec.source)
    data = dockerfile_data(spec, profile, lock)
    text = environment().get_template("Dockerfile.j2").render(**data)
    _check_line_lengths(text, profile)
    return text


#: BuildKit reads a Dockerfile with a bufio.Scanner of the default token size: a physical
#: line longer than this fails the build ("dockerfile line greater than max allowed size of
#: 65535", moby/buildkit frontend/dockerfile/parser/parser.go, handleScannerError)
BUILDKIT_MAX_LINE_BYTES = 65535


def _check_line_lengths(text: str, profile: str) -> None:
    """Each value is far below the limit (generator.yamltree.MAX_SCALAR); many values on
    one line (PATH) could still add up past it, and the build would fail only in BuildKit."""
    for number, line in enumerate(text.split("\n"), 1):
        size = len(line.encode("utf-8"))
        if size > BUILDKIT_MAX_LINE_BYTES:
            raise UsageError(
                f"profile {profile!r}: line {number} of the Dockerfile ({line[:40]}...) would be {size} bytes; "
                f"BuildKit reads at most {BUILDKIT_MAX_LINE_BYTES} bytes per line: shorten the values that make it up"
            )

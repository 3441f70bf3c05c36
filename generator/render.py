"""Spec -> Dockerfile text: the tools' blocks (each method's data laid out by its template), the data
Dockerfile.j2 lays out (generator/dockerfile_data.py), and the image's layout for `sandbox cost`. Decisions
are made in Python; templates write the instructions and quote with the filters of generator/filters.py."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from functools import cache
from itertools import groupby
from pathlib import Path

import jinja2

from generator.cache import disabled_by_env, secret, sign, write_atomic
from generator.dockerfile_data import (
    CopyStep,
    DockerfileData,
    base_stage,
    file_copies,
    labels,
    owner,
    path_dirs,
    release_file,
    runtime_settings,
    tool_copy,
    user_setup,
)
from generator.errors import UsageError
from generator.filters import FILTERS, TESTS
from generator.lockfile import Lock
from generator.methods.context import RenderContext
from generator.methods.data import Phase, TemplateData
from generator.methods.protocol import InstallMethod
from generator.paths import private_to_user, templates_dir, user_cache_dir
from generator.safefile import read_regular
from generator.spec import Spec


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs: compiling them from source is a tenth of a
    `sandbox check` (see bench/). Entries are keyed by the template's source, so an edited
    template is compiled afresh; a cache that cannot be read or written is skipped. Loading an
    entry runs its code, so it is loaded only when no other user could have written it (the
    directory itself is private: paths.user_cache_dir) and when it carries the signature
    sandbox gave it (generator.cache.secret): compiled code edited, copied or restored apart
    from that key is compiled afresh instead of run."""

    def __init__(self, directory: str, key: bytes) -> None:
        super().__init__(directory)
        self.key = key

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        path = Path(self._get_cache_filename(bucket))
        if not private_to_user(path):
            return
        try:
            data = read_regular(path, MAX_BYTECODE_BYTES)
        except OSError:
            return
        mac, body = data[:64], data[64:]
        if not hmac.compare_digest(mac, sign(self.key, bucket.key.encode(), body).encode()):
            return
        try:
            bucket.bytecode_from_string(body)
        except Exception:  # noqa: BLE001 - a truncated or foreign entry (pickle, marshal): compile instead
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        body = bucket.bytecode_to_string()
        write_atomic(Path(self._get_cache_filename(bucket)), sign(self.key, bucket.key.encode(), body).encode() + body)


#: a compiled template is a few tens of KiB; a larger entry is not one of ours
MAX_BYTECODE_BYTES = 8 << 20


def _bytecode_cache() -> _BytecodeCache | None:
    directory = user_cache_dir("jinja")
    key = secret() if directory is not None else None
    return _BytecodeCache(str(directory), key) if directory is not None and key is not None else None


def environment() -> jinja2.Environment:
    """The templates' environment; without compiled templates from the cache when caches
    are off (`--no-cache`, SANDBOX_NO_CACHE): then nothing cached is read."""
    return _environment(cached=not disabled_by_env())


@cache
def _environment(cached: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        bytecode_cache=_bytecode_cache() if cached else None,
    )
    env.filters.update(FILTERS)
    env.tests.update(TESTS)
    return env


def _partial(body: TemplateData) -> str:
    """A method's block: its data laid out by the template the data names."""
    return environment().get_template(body.template).render(vars(body)).rstrip("\n")


@dataclass(frozen=True)
class Block:
    """One rendered block and the tools it installs (several when `combine` merged them)."""

    text: str
    tools: tuple[str, ...]


def _blocks(entries: list[tuple[InstallMethod, TemplateData]]) -> list[Block]:
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
        blocks += [Block(_partial(body), owner) for body, owner in zip(bodies, owners, strict=True)]
    return blocks


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


def dockerfile_data(spec: Spec, profile: str, lock: Lock) -> DockerfileData:
    """What templates/Dockerfile.j2 lays out for one profile."""
    return _prepare(spec, profile, lock)[0]


def layout(spec: Spec, profile: str | None, lock: Lock) -> ImageLayout:
    """The layout of the profile's image (see :class:`ImageLayout`)."""
    return _prepare(spec, _checked_profile(spec, profile), lock)[1]


@dataclass(frozen=True)
class _Tools:
    """What the profile's tools contribute, gathered in one pass over them (spec order within a phase)."""

    blocks: dict[Phase, list[Block]]
    #: each COPY out of a tool's stage, with the tool it belongs to
    copies: list[tuple[CopyStep, str]]
    #: directories the tools write through, which the user must own
    dirs: list[str]
    #: the generator's scripts the tools' stages run, each once
    base_scripts: list[str]
    #: build stage -> the tool it belongs to
    stages: dict[str, str]


def _tools(spec: Spec, ctx: RenderContext) -> _Tools:
    tools = sorted(spec.tools_for(ctx.profile), key=lambda t: t.phase)  # stable: spec order within a phase
    entries: dict[Phase, list[tuple[InstallMethod, TemplateData]]] = {phase: [] for phase in Phase}
    copies: list[tuple[CopyStep, str]] = []
    dirs: list[str] = []
    user = owner(spec)
    for tool in tools:
        contribution = tool.contribute(ctx)
        if contribution.stage is not None:
            entries[Phase.STAGE].append((tool, contribution.stage))
        entries[tool.phase].append((tool, contribution.body))
        dirs += contribution.dirs
        copies += [(tool_copy(copy, user), tool.name) for copy in contribution.copies]
    return _Tools(
        blocks={phase: _blocks(found) for phase, found in entries.items()},
        copies=copies,
        dirs=dirs,
        base_scripts=list(dict.fromkeys(script for tool in tools for script in tool.base_scripts_needed())),
        stages={tool.stage_name: tool.name for tool in tools},
    )


def _texts(blocks: list[Block]) -> tuple[str, ...]:
    return tuple(block.text for block in blocks)


def _prepare(spec: Spec, profile: str, lock: Lock) -> tuple[DockerfileData, ImageLayout]:
    """The template's data and the image's layout, from one pass over the tools."""
    ctx = RenderContext(spec, profile, lock)
    tools = _tools(spec, ctx)
    blocks = tools.blocks
    data = DockerfileData(
        source=spec.source.name if spec.source else "sandbox.yaml",
        profile=profile,
        profile_note=spec.profiles[profile].description,
        base=base_stage(spec, ctx, tools.base_scripts),
        stages=_texts(blocks[Phase.STAGE]),
        system=_texts(blocks[Phase.SYSTEM]),
        toolchains=_texts(blocks[Phase.TOOLCHAIN]),
        user_steps=_texts(blocks[Phase.USER]),
        user=user_setup(spec, tools.dirs),
        copies=tuple(copy for copy, _ in tools.copies),
        files=file_copies(spec, ctx),
        path=path_dirs(spec, ctx),
        runtime=runtime_settings(spec),
        labels=labels(spec),
        release_file=release_file(spec),
    )
    return data, _image_layout(tools, len(spec.files))


def _image_layout(tools: _Tools, files: int) -> ImageLayout:
    """Which tool each stage and final-stage layer belongs to, in the order Dockerfile.j2 lays them out."""
    blocks = tools.blocks
    final = [
        *_steps(blocks[Phase.SYSTEM]),
        FinalStep("RUN", (), "user"),
        *(FinalStep("COPY", (tool,), "tools") for _, tool in tools.copies),
        *(FinalStep("COPY", (), "files") for _ in range(files)),
        *_steps(blocks[Phase.TOOLCHAIN]),
        *_steps(blocks[Phase.USER]),
        FinalStep("WORKDIR", (), "workdir"),
        FinalStep("COPY", (), "release-file"),
    ]
    # the base stage: apt set-up, the base packages, then the generator's scripts it copies in
    base = ("RUN", "RUN", *("COPY" for _ in tools.base_scripts))
    return ImageLayout(stages=tools.stages, final=tuple(final), base=base)


def _checked_profile(spec: Spec, profile: str | None) -> str:
    profile = profile or spec.default_profile
    if profile not in spec.profiles:
        raise UsageError(f"unknown profile {profile!r}; the spec declares: {', '.join(spec.profiles)}")
    return profile


def render(spec: Spec, profile: str | None, lock: Lock) -> str:
    """The Dockerfile for one profile of the spec (the first declared one for None), with
    the digests of ``lock`` (the caller reads it: Project.load, or Lock.beside)."""
    profile = _checked_profile(spec, profile)
    data = dockerfile_data(spec, profile, lock)
    text = environment().get_template("Dockerfile.j2").render(vars(data))
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

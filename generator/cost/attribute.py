"""Turn one build's steps and the image's layers into parts (see report.ATTRIBUTION), with the
image's layout (generator.render.layout) saying which tool each stage and each final-stage
layer belongs to. No Docker here: the caller hands over what BuildKit and the engine said."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from generator.cost.report import Part
from generator.render import LAYER_INSTRUCTIONS, FinalStep, ImageLayout

BASE_IMAGE = "base image"
BASE_STAGE = "base stage"
USER_SETUP = "user setup"
SPEC_FILES = "spec files"
METADATA = "image metadata"
ENGINE = "build engine"
UNATTRIBUTED = "unattributed"

_NOTES = {
    BASE_IMAGE: "the distribution image the base stage starts FROM (its pull, its layers)",
    BASE_STAGE: "apt set-up and the base packages every stage and the image start from",
    USER_SETUP: "the user, sudo and the home directories",
    SPEC_FILES: "the files: entries of the spec",
    METADATA: "WORKDIR, /etc/sandbox-release and the SBOM under /usr/share/sandbox",
    ENGINE: "BuildKit's own work: reading the Dockerfile and context, resolving images, exporting the image",
    UNATTRIBUTED: "steps or layers the layout does not explain (see the warnings)",
}
_ROLES = {"user": USER_SETUP, "files": SPEC_FILES, "workdir": METADATA, "release-file": METADATA}

#: "[stage 2/3] RUN ...": the stage, the step's number in it and the instruction
_STEP = re.compile(r"^\[(?P<stage>[^\]\s]+)\s+(?P<index>\d+)/(?P<count>\d+)\]\s+(?P<word>\S+)")
_FROM_STEP = re.compile(r"^\[[^\]]+\]\s+FROM\s", re.IGNORECASE)


@dataclass(frozen=True)
class StepTime:
    """One vertex of the build as BuildKit reported it."""

    name: str
    #: done, cached, canceled, error, running
    state: str
    seconds: float


@dataclass(frozen=True)
class Layer:
    """One entry of the image's history (oldest first), as the engine reports it."""

    created_by: str
    size: int


class LayoutMismatch(Exception):
    """The image's layers are not those of the layout (built from another Dockerfile)."""


def _final_part(step: FinalStep) -> tuple[str, str, tuple[str, ...]]:
    """(name, kind, tools) of the part a final-stage step belongs to."""
    if step.role == "tools" and len(step.tools) == 1:
        return step.tools[0], "tool", step.tools
    if step.role == "tools":
        return "shared: " + " + ".join(step.tools), "shared", step.tools
    return _ROLES[step.role], "shared", ()


class _PartSums(TypedDict):
    """One part's running sums, until ``_Parts.parts`` turns them into a Part."""

    kind: str
    tools: tuple[str, ...]
    seconds: float
    bytes: int
    steps: int
    cached: int


class _Parts:
    """Parts being summed up, in the order they are first met."""

    def __init__(self) -> None:
        self.found: dict[str, _PartSums] = {}

    def add(
        self, name: str, kind: str, tools: tuple[str, ...], *, seconds: float = 0.0, size: int = 0, step: StepTime | None = None
    ) -> None:
        part = self.found.setdefault(name, {"kind": kind, "tools": tools, "seconds": 0.0, "bytes": 0, "steps": 0, "cached": 0})
        part["seconds"] += seconds
        part["bytes"] += size
        if step is not None:
            part["steps"] += 1
            part["cached"] += step.state == "cached"

    def parts(self) -> tuple[Part, ...]:
        found = [
            Part(name, p["kind"], p["tools"], p["seconds"], p["bytes"], p["steps"], p["cached"], _NOTES.get(name, ""))
            for name, p in self.found.items()
        ]
        return tuple(sorted(found, key=lambda p: (-p.bytes, -p.seconds, p.name)))


def _time_part(layout: ImageLayout, step: StepTime, warnings: list[str]) -> tuple[str, str, tuple[str, ...]]:
    match = _STEP.match(step.name)
    if match is None:
        return ENGINE, "shared", ()
    stage, index, count, word = match["stage"], int(match["index"]), int(match["count"]), match["word"].upper()
    if stage == layout.base_stage:
        return (BASE_IMAGE if index == 1 else BASE_STAGE), "shared", ()
    if stage == layout.release_file_stage:
        return METADATA, "shared", ()
    if stage in layout.stages:
        tool = layout.stages[stage]
        return tool, "tool", (tool,)
    if stage == layout.final_stage and count == len(layout.final):
        # BuildKit numbers the steps of a stage, and a FROM only when it names an image: the
        # final stage starts FROM base, so its step 1 is its first layer instruction
        final = layout.final[index - 1]
        if final.instruction == word:
            return _final_part(final)
    warnings.append(f"build step {step.name[:80]!r} is not one the layout names")
    return UNATTRIBUTED, "shared", ()


def attribute(layout: ImageLayout, steps: Sequence[StepTime], layers: Sequence[Layer]) -> tuple[tuple[Part, ...], int, list[str]]:
    """(parts, unattributed bytes, warnings). The final stage's and the base stage's layer
    instructions are the newest history entries carrying a layer instruction; every entry
    older than them is the base image's."""
    parts = _Parts()
    warnings: list[str] = []
    for step in steps:
        name, kind, tools = _time_part(layout, step, warnings)
        # a FROM resolves (or pulls) an image: its time counts, but it is not a build step
        # that a cache could have skipped
        counted = name != ENGINE and not _FROM_STEP.match(step.name)
        parts.add(name, kind, tools, seconds=step.seconds, step=step if counted else None)
    expected: list[tuple[str, tuple[str, str, tuple[str, ...]]]] = [
        *((word, (BASE_STAGE, "shared", ())) for word in layout.base),
        *((step.instruction, _final_part(step)) for step in layout.final),
    ]
    unattributed = 0
    for layer in reversed(layers):
        words = layer.created_by.split(maxsplit=1)
        word = words[0].upper() if words else ""
        if not expected:
            parts.add(BASE_IMAGE, "shared", (), size=layer.size)
        elif word in LAYER_INSTRUCTIONS:
            instruction, (name, kind, tools) = expected.pop()
            if instruction != word:
                raise LayoutMismatch(f"the image has a {word} layer where the Dockerfile has a {instruction} ({layer.created_by[:80]!r})")
            parts.add(name, kind, tools, size=layer.size)
        elif layer.size:
            # metadata instructions (ENV, LABEL, ...) make no layer; bytes here are a surprise
            unattributed += layer.size
            warnings.append(f"{layer.size} bytes in a history entry that is no layer instruction: {layer.created_by[:80]!r}")
    if expected:
        raise LayoutMismatch(f"the image has {len(expected)} layer instruction(s) fewer than the Dockerfile")
    if unattributed:
        parts.add(UNATTRIBUTED, "shared", (), size=unattributed)
    # the engine part has no bytes and steps; it is kept for its time
    return parts.parts(), unattributed, warnings

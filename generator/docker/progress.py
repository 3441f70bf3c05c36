"""Follow BuildKit's ``--progress=plain`` output: which step runs, how many are done, which
one failed and what it printed last.

The plain format (the same from the 20.10 built-in BuildKit and from buildx) is a stream of
vertex lines, interleaved when steps run in parallel::

    #7 [release-rg 2/3] RUN case ...
    #7 0.423 some output of the step
    #7 DONE 0.4s            (or CACHED, CANCELED, ERROR: ...)
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

#: how many output lines of one step an error report keeps
TAIL_LINES = 20

_VERTEX = re.compile(r"^#(\d+) (.*)$")
#: "[stage 2/3] ", "[2/3] ", and with the index padded: "[sandbox  4/12] "
_STEP_NAME = re.compile(r"^\[(?:(?P<stage>[^\]\s]+)\s+)?\s*(?P<index>\d+)/(?P<count>\d+)\] ")
_OUTPUT = re.compile(r"^\d+\.\d+ (.*)$")
_DONE = re.compile(r"^DONE (\d+(?:\.\d+)?)s$")
_BUILD_STEP = re.compile(r"^(RUN|COPY|ADD|WORKDIR)\b", re.IGNORECASE)
_FROM = re.compile(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE)
#: progress of the engine's own work on a vertex, not output of the step
_ENGINE_WORK = ("sha256:", "extracting ", "transferring ", "exporting ", "writing ", "naming ", "resolve ")


def count_steps(dockerfile: str) -> int:
    """The number of numbered steps BuildKit reports for ``dockerfile``: each RUN, COPY, ADD and
    WORKDIR, plus the FROM of every stage that starts from an image rather than another stage."""
    total = 0
    stages: set[str] = set()
    for line in _logical_lines(dockerfile):
        match = _FROM.match(line)
        if match:
            if match[1].lower() not in stages:
                total += 1
            if match[2]:
                stages.add(match[2].lower())
        elif _BUILD_STEP.match(line):
            total += 1
    return total


def _logical_lines(text: str) -> list[str]:
    """Instructions with their continuation lines joined; comments and blank lines dropped."""
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current:
        lines.append(current)
    return lines


@dataclass
class Vertex:
    number: int
    name: str
    #: a Dockerfile step ("[stage i/n] RUN ..."), not the engine's own work ("[internal] ...")
    numbered: bool
    state: str = "running"  # running, done, cached, canceled, error
    error: str = ""
    #: how long the step ran, as BuildKit reports it on its DONE line (0 when cached)
    seconds: float | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))


@dataclass
class BuildProgress:
    """State of one build, fed line by line."""

    #: steps the Dockerfile has (from count_steps); the real number may only be known later
    total: int = 0
    vertices: dict[int, Vertex] = field(default_factory=dict)
    #: vertices in the order they started
    order: list[int] = field(default_factory=list)
    #: the CLI's own lines (not attributed to a step): its final error message lives here
    other: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))

    def feed(self, line: str) -> Vertex | None:
        """Take one output line; returns the vertex this line started, if it started one."""
        match = _VERTEX.match(line)
        if not match:
            if line.strip() and not line.startswith(("------", " > ")):
                self.other.append(line)
            return None
        number, rest = int(match[1]), match[2]
        vertex = self.vertices.get(number)
        if vertex is None:
            if rest.startswith(_ENGINE_WORK):
                return None
            vertex = Vertex(number, rest, bool(_STEP_NAME.match(rest)))
            self.vertices[number] = vertex
            self.order.append(number)
            return vertex
        if rest.startswith(_ENGINE_WORK):
            return None
        done = _DONE.match(rest)
        if done:
            # a CACHED step stays cached: a cache imported from a registry is lazy, and BuildKit
            # fetches a step's layers under its number when the image needs them, then says DONE
            if vertex.state != "cached":
                vertex.state = "done"
                vertex.seconds = float(done[1])
        elif rest == "CACHED":
            vertex.state = "cached"
            vertex.seconds = 0.0
        elif rest == "CANCELED":
            vertex.state = "canceled"
        elif rest.startswith("ERROR"):
            vertex.state = "error"
            vertex.error = rest.removeprefix("ERROR").lstrip(": ")
        else:
            output = _OUTPUT.match(rest)
            vertex.tail.append(output[1] if output else rest)
        return None

    # -- questions --------------------------------------------------------------------------

    @property
    def steps(self) -> list[Vertex]:
        return [self.vertices[n] for n in self.order if self.vertices[n].numbered]

    @property
    def cached(self) -> list[Vertex]:
        """Steps whose result came from the build cache."""
        return [v for v in self.steps if v.state == "cached"]

    @property
    def executed(self) -> list[Vertex]:
        """Steps that ran (a FROM only resolves its image: not counted)."""
        return [v for v in self.steps if v.state == "done" and not _FROM.match(_STEP_NAME.sub("", v.name, count=1))]

    @property
    def done(self) -> int:
        return sum(1 for v in self.steps if v.state in {"done", "cached"})

    @property
    def total_steps(self) -> int:
        return max(self.total, len(self.steps))

    @property
    def current(self) -> Vertex | None:
        """The most recently started vertex that is still running."""
        for number in reversed(self.order):
            vertex = self.vertices[number]
            if vertex.state == "running":
                return vertex
        return None

    @property
    def failed(self) -> Vertex | None:
        """The step that failed first (the others are usually canceled because of it)."""
        errors = [self.vertices[n] for n in self.order if self.vertices[n].state == "error"]
        numbered = [v for v in errors if v.numbered]
        first = numbered or errors
        return first[0] if first else None

    def failure_tail(self) -> list[str]:
        """The last lines the failing step printed, then its error line."""
        failed = self.failed
        if failed is None:
            return list(self.other)
        lines = list(failed.tail)
        if failed.error:
            lines.append(failed.error)
        return lines

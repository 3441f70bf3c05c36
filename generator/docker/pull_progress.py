"""How pull progress is shown: a live rich line on a terminal, plain lines otherwise (CI logs).

Progress goes to stderr so that stdout carries only the result.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TextIO

from generator.docker.pull import Event
from generator.terminal import escape_controls

# `docker pull` without a terminal prints "<layer id>: <status>" per layer change
_LAYER = re.compile(r"^([0-9a-f]{12}): (.+)$")
_LAYER_DONE = ("Pull complete", "Already exists")


def _outcome(event: Event) -> str | None:
    if event.kind == "start" and event.attempt == 1:
        return f"pulling {event.reference} from {event.text}"
    if event.kind == "start":
        return f"pulling {event.reference} again (try {event.attempt})"
    if event.kind == "retry":
        last = event.text.strip().splitlines()[-1] if event.text.strip() else "failed"
        return f"try {event.attempt} failed: {last}; retrying in {event.delay:.1f} s"
    if event.kind == "fallback":
        return f"trying the mirror {event.text}"
    if event.kind == "done":
        return f"{event.reference}: {event.text}"
    return None


@contextmanager
def plain_reporter(stream: TextIO | None = None) -> Iterator[Callable[[Event], None]]:
    out = stream or sys.stderr

    def report(event: Event) -> None:
        text = _outcome(event) if event.kind != "line" else f"  {event.text}"
        if text is not None:
            # docker passes a registry's words through (errors, statuses): shown, never obeyed
            print(escape_controls(text), file=out, flush=True)

    yield report


@contextmanager
def rich_reporter() -> Iterator[Callable[[Event], None]]:
    from rich.console import Console
    from rich.text import Text

    console = Console(stderr=True)
    layers: dict[str, str] = {}
    with console.status("") as status:

        def report(event: Event) -> None:
            if event.kind == "line":
                match = _LAYER.match(event.text)
                if match:
                    layers[match[1]] = match[2]
                done = sum(1 for s in layers.values() if s.startswith(_LAYER_DONE))
                counts = f" [{done}/{len(layers)} layers]" if layers else ""
                # one line however long docker's message is: a wrapped status line redraws badly
                line = f"{event.reference}{counts} {event.text}"
                room = max(20, console.width - 4)  # the spinner and its gap
                line = escape_controls(line)
                status.update(Text(line if len(line) <= room else line[: room - 1] + "…"))
                return
            if event.kind == "start":
                layers.clear()
            text = _outcome(event)
            if text is not None:
                console.print(escape_controls(text), markup=False, highlight=False)

        yield report


def pull_reporter(*, tty: bool) -> AbstractContextManager[Callable[[Event], None]]:
    """The reporter for this output: rich when ``tty``, plain lines otherwise."""
    return rich_reporter() if tty else plain_reporter()

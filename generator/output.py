"""Writing generated files: where they may go, atomically, keeping the file mode, and
diffing against disk.

The one rule for every file a command writes (profile outputs, ``schema --output``) is
:func:`check_targets`: a target resolves (symlinks followed) inside the project, to no file
the project reads (spec, lock, ``files:`` sources) and to no other target, and it is a
regular file or nothing yet. Commands check every target before they write the first.
"""

from __future__ import annotations

import difflib
import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from generator.errors import UsageError
from generator.safefile import TooLarge, kind, read_regular


@dataclass(frozen=True)
class Target:
    """A file a command wants to write."""

    #: how problems name it: the spec field (profiles.default.output) or the option (--output)
    name: str
    #: the path as written (shown in messages)
    written: str
    #: the path to write: the project directory joined with ``written``
    path: Path


def resolve(path: Path) -> Path:
    """``path`` made absolute with every symlink followed (also in a missing tail)."""
    return Path(os.path.realpath(path))


def _shown(path: Path, root: Path) -> str:
    """A resolved path as short as it can be said: relative to the project when inside it."""
    return str(path.relative_to(root)) if path.is_relative_to(root) and path != root else str(path)


def _lexically_inside(path: Path, root: Path) -> bool:
    """Inside ``root`` as written, before symlinks are followed."""
    return Path(os.path.normpath(Path.cwd() / path)).is_relative_to(root)


def _problem(target: Target, real: Path, root: Path, protected: dict[Path, str], other: Target | None, anywhere: bool) -> str | None:
    """What is wrong with writing ``target`` (resolved to ``real``), or None."""
    written = repr(target.written)
    try:
        # the path as written, symlinks followed by the kernel: /dev/stdout reaches the pipe
        # it stands for, where its resolved name (/proc/self/fd/pipe:[...]) names nothing
        what = kind(os.stat(target.path).st_mode)
    except FileNotFoundError:
        what = None
    except OSError as exc:
        return f"{written} cannot be checked: {exc.strerror or exc}"
    if what:
        return f"{written} is {what}; an output may only replace a regular file or create a new one"
    if not anywhere and (not real.is_relative_to(root) or real == root):
        how = " (through a symlink)" if _lexically_inside(target.path, root) else ""
        return f"{written} resolves to {real}, outside the project directory {root}{how}; outputs must stay inside the spec's directory"
    if real in protected:
        return f"{written} is {protected[real]}; writing it would overwrite an input"
    if other is not None:
        return f"{written} is the same file as {other.name} ({other.written!r}): both resolve to {_shown(real, root)}"
    if not real.parent.is_dir():
        return f"{written}: the directory {_shown(real.parent, root)} does not exist"
    return None


def check_targets(
    targets: Iterable[Target], project_dir: Path, protected: dict[Path, str], *, anywhere: bool = False
) -> tuple[dict[str, Path], list[tuple[Target, str]]]:
    """Resolve every target and check it against the one path rule.

    ``protected`` maps resolved paths a command must never write (the spec, the lock, the
    sources it copies) to how a message names them. Returns the resolved path of each
    target by name, and every problem found as (target, message): none means all of them
    may be written. Nothing is opened: special files are seen by ``stat`` alone.

    ``anywhere``: the target may also be outside the project (a file the user names on the
    command line, such as a changelog or an SBOM for a CI artifact directory); every other
    part of the rule still holds. Paths a spec names never get this.
    """
    root = resolve(project_dir)
    claimed: dict[Path, Target] = {}
    resolved: dict[str, Path] = {}
    problems: list[tuple[Target, str]] = []
    for target in targets:
        real = resolve(target.path)
        resolved[target.name] = real
        message = _problem(target, real, root, protected, claimed.get(real), anywhere)
        if message:
            problems.append((target, message))
        else:
            claimed[real] = target
    return resolved, problems


def write_atomic(path: Path, text: str) -> bool:
    """Replace ``path`` with ``text`` via a temp file + rename; False if already equal.

    A reader never sees a half-written file, an interrupted write leaves the old file,
    and the existing file mode is kept (new files get 0644).
    """
    data = text.encode("utf-8")
    try:
        # refuses a FIFO or device before opening it; rename would replace it with a file; a
        # file longer than the new text cannot equal it and is not read
        try:
            if read_regular(path, len(data)) == data:
                return False
        except TooLarge:
            pass
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    except OSError as exc:  # NotRegularFile too: its strerror says what the path is
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


@dataclass(frozen=True)
class Drift:
    path: Path
    diff: str


def drift(path: Path, expected: str, label: str | None = None) -> Drift | None:
    """The unified diff from the file on disk to ``expected``, or None when equal."""
    # a file on disk far larger than the expected text is not read whole: the diff shows only
    # that it differs (a stray multi-gigabyte file must not exhaust memory)
    limit = 4 * len(expected.encode("utf-8")) + (1 << 20)
    try:
        # universal newlines, as read_text would
        data = read_regular(path, limit).decode("utf-8", errors="replace")
        current: str | None = data.replace("\r\n", "\n").replace("\r", "\n")
    except FileNotFoundError:
        current = None
    except TooLarge:
        name = label or str(path)
        return Drift(path, f"--- {name} (on disk: over {limit} bytes, not compared line by line)\n+++ {name} (from spec)\n")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if current == expected:
        return None
    name = label or str(path)
    diff = difflib.unified_diff(
        (current or "").splitlines(keepends=True),
        expected.splitlines(keepends=True),
        fromfile=f"{name} (on disk)" if current is not None else f"{name} (missing)",
        tofile=f"{name} (from spec)",
    )
    return Drift(path, "".join(diff))

"""Writing generated files: atomically, keeping the file mode, and diffing against disk."""

from __future__ import annotations

import difflib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from generator.errors import UsageError


def write_atomic(path: Path, text: str) -> bool:
    """Replace ``path`` with ``text`` via a temp file + rename; False if already equal.

    A reader never sees a half-written file, an interrupted write leaves the old file,
    and the existing file mode is kept (new files get 0644).
    """
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    except OSError as exc:
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
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = None
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

"""Reading files that a user (or an attacker) names: only regular files, never blocking.

A FIFO blocks ``open()`` until a writer comes, and a device can block a read or have side
effects: both are refused before they are read. Standard library only, because the result
cache reads the spec and the lock through this before anything heavy is imported.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def kind(mode: int) -> str | None:
    """What a file of this st_mode is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


class NotRegularFile(OSError):
    """The path names something other than a regular file (after following symlinks)."""

    def __init__(self, path: str | os.PathLike[str], what: str) -> None:
        super().__init__(f"{os.fspath(path)} is {what}, not a regular file")
        self.what = what
        self.strerror = f"it is {what}, not a regular file"


#: the largest spec or lock read (the default spec is about 30 KiB, a lock entry 150 bytes);
#: a larger file is refused before more of it is read
MAX_INPUT_BYTES = 1 << 20


class TooLarge(OSError):
    """The file is larger than the reader accepts (read no further than that)."""

    def __init__(self, path: str | os.PathLike[str], limit: int) -> None:
        super().__init__(f"{os.fspath(path)} is larger than {limit} bytes")
        self.strerror = f"it is larger than {limit // 1024} KiB; no valid file is that large"


def read_regular(path: str | os.PathLike[str], limit: int | None = None) -> bytes:
    """The bytes of a regular file. Raises NotRegularFile for anything else (checked before
    opening, and again on the open descriptor in case the path was swapped), TooLarge past
    ``limit`` bytes (nothing beyond it is read), and OSError (FileNotFoundError for a
    missing file or a dangling symlink) as ``open`` would."""
    what = kind(os.stat(path).st_mode)
    if what:
        raise NotRegularFile(path, what)
    # O_NONBLOCK: a FIFO swapped in after the stat opens at once instead of waiting for a writer
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    try:
        what = kind(os.fstat(fd).st_mode)
        if what:
            raise NotRegularFile(path, what)
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            size += len(chunk)
            if limit is not None and size > limit:
                raise TooLarge(path, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def is_dangling_symlink(path: str | os.PathLike[str]) -> bool:
    return os.path.islink(path) and not os.path.exists(path)


def read_report(path: Path, limit: int, command: str, schema: str) -> dict[str, Any]:
    """An earlier JSON report of ``command`` (e.g. `sandbox cost --format json`) given to --compare:
    a regular file of at most ``limit`` bytes, a JSON object whose ``schema`` is ``schema``;
    UsageError naming --compare and ``path`` otherwise. Its parts are the caller's to check."""
    import json

    from generator.errors import UsageError

    try:
        data = json.loads(read_regular(path, limit).decode("utf-8"))
    except OSError as exc:
        raise UsageError(f"--compare {path}: cannot read it ({exc.strerror or exc})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"--compare {path}: not JSON ({exc})") from None
    except RecursionError:
        raise UsageError(f"--compare {path}: not a `{command}` report (nested too deeply)") from None
    if not isinstance(data, dict) or data.get("schema") != schema:
        raise UsageError(f"--compare {path}: not a `{command}` report (schema {schema})")
    return data

"""Text bound for a terminal: control characters shown as escapes, never sent as they are.

A key, path, URL or lock line echoed raw could carry a newline (forging another error or
``check`` line) or an escape sequence (rewriting what is on screen). Standard library
only: the result cache's fast path prints paths through this.
"""

from __future__ import annotations


def is_control(c: str) -> bool:
    return ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029"


def escape_controls(text: str, keep: str = "") -> str:
    """``text`` with each control character shown as an escape (\\n, \\x1b): safe to echo.
    Characters in ``keep`` (e.g. a newline in a message that has several lines) stay."""
    return "".join(repr(c)[1:-1] if is_control(c) and c not in keep else c for c in text)


def has_controls(text: str) -> bool:
    return any(is_control(c) for c in text)

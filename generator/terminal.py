"""Text bound for a terminal: control characters shown as escapes, never sent as they are.

A key, path, URL or lock line echoed raw could carry a newline (forging another error or
``check`` line) or an escape sequence (rewriting what is on screen). Standard library
only: the result cache's fast path prints paths through this.
"""

from __future__ import annotations

import re

#: C0 and C1 controls, DEL, the Unicode line and paragraph separators, and lone surrogates
#: (not characters: a strict UTF-8 stream cannot write them at all)
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def is_control(c: str) -> bool:
    return _CONTROLS.fullmatch(c) is not None


def escape_controls(text: str, keep: str = "") -> str:
    """``text`` with each control character shown as an escape (\\n, \\x1b): safe to echo.
    Characters in ``keep`` (e.g. a newline in a message that has several lines) stay."""
    return _CONTROLS.sub(lambda m: m[0] if m[0] in keep else repr(m[0])[1:-1], text)


def has_controls(text: str) -> bool:
    return _CONTROLS.search(text) is not None

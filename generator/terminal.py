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
#: characters that make text read otherwise than it is: the bidirectional embeddings,
#: overrides, isolates and marks (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C) and
#: the invisible ones (zero-width space, joiners, word joiner, invisible operators, the
#: byte-order mark, the Mongolian vowel separator, soft hyphen)
_DECEPTIVE = "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_DECEPTIVE_RE = re.compile(f"[{_DECEPTIVE}]")
_SHOWN = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff{_DECEPTIVE}]")


def is_control(c: str) -> bool:
    return _CONTROLS.fullmatch(c) is not None


def is_deceptive(c: str) -> bool:
    return _DECEPTIVE_RE.fullmatch(c) is not None


def escape_controls(text: str, keep: str = "") -> str:
    """``text`` with each control character, and each bidirectional or invisible one, shown
    as an escape (\\n, \\x1b, \\u202e): safe to echo, and it reads as it is. Characters
    in ``keep`` (e.g. a newline in a message that has several lines) stay."""
    return _SHOWN.sub(lambda m: m[0] if m[0] in keep else _escape(m[0]), text)


def _escape(c: str) -> str:
    shown = repr(c)[1:-1]
    return shown if shown != c else f"\\u{ord(c):04x}"


def has_controls(text: str) -> bool:
    return _CONTROLS.search(text) is not None

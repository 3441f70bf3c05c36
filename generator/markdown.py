"""Text from elsewhere (an earlier report, an SBOM, an upstream) placed in a Markdown table
that a pull request shows."""

from __future__ import annotations

import re

from generator.terminal import escape_controls

#: what GitHub would turn into a link or a notification: a URL (any scheme, or www.), an
#: e-mail address, an @mention (of a user or a team). Shown in a code span, they stay text.
_LIVE = re.compile(
    r"(?:[A-Za-z][A-Za-z0-9+.-]*:/{1,}|www\.)[^\s`]*"
    r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
    r"|(?<![A-Za-z0-9_`])@[A-Za-z0-9][A-Za-z0-9_-]*(?:/[A-Za-z0-9._-]+)?"
)


def cell(text: str) -> str:
    """``text`` as one table cell, shown as written: a line break cannot end the row, a ``|``
    or a trailing backslash cannot split or merge cells, HTML such as ``</details>`` cannot
    close the block around the table, no link, image or @mention becomes live (a URL,
    address or mention is shown in a code span, ``[`` and ``]`` are escaped), and no control,
    bidirectional or invisible character reaches a reader or a terminal that prints the
    Markdown (each is shown as an escape)."""
    flat = escape_controls(text.replace("\r\n", " ").replace("\n", " "))
    parts, at = [], 0
    for match in _LIVE.finditer(flat):
        parts.append(_plain(flat[at : match.start()]))
        # in a code span only '|' needs its backslash (the table reads it first)
        parts.append(f"`{match[0].replace('|', chr(92) + '|')}`")
        at = match.end()
    parts.append(_plain(flat[at:]))
    return "".join(parts)


def _plain(text: str) -> str:
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("[", "\\[").replace("]", "\\]").replace("`", "\\`")

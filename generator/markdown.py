"""Text from elsewhere (an earlier report, an SBOM, an upstream) placed in a Markdown table
that a pull request shows."""

from __future__ import annotations

from generator.terminal import escape_controls


def cell(text: str) -> str:
    """``text`` as one table cell, shown as written: a line break cannot end the row, a ``|``
    or a trailing backslash cannot split or merge cells, HTML such as ``</details>`` cannot
    close the block around the table, and no control character reaches a terminal that
    prints the Markdown."""
    flat = escape_controls(text.replace("\r\n", " ").replace("\n", " "))
    return flat.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")

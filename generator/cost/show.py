"""The cost report for people: a terminal table with bars (rich) and Markdown for a pull
request comment; and the same two for a comparison of reports."""

from __future__ import annotations

from rich.bar import Bar
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from generator.cost.report import ATTRIBUTION, Change, CostReport
from generator.markdown import cell

BAR_WIDTH = 10


def human(size: int | float, sign: bool = False) -> str:
    """Bytes in decimal units (B, kB, MB, GB), as docker shows image sizes."""
    magnitude = abs(size)
    text = next(
        (f"{magnitude / scale:.1f} {unit}" for scale, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")) if magnitude >= scale),
        f"{magnitude:.0f} B",
    )
    return ("-" if size < 0 else "+" if sign else "") + text


def _share(value: float, total: float) -> str:
    return f"{100 * value / total:.1f}%" if total else "-"


def _text_bar(value: float, total: float) -> str:
    """A bar of block characters (Markdown has no other)."""
    eighths = round(BAR_WIDTH * 8 * value / total) if total else 0
    return "█" * (eighths // 8) + ("▏▎▍▌▋▊▉"[eighths % 8 - 1] if eighths % 8 else "")


def table(report: CostReport, console: Console) -> None:
    total_bytes, total_seconds = report.total_bytes, report.total_seconds
    grid = Table(
        title=f"sandbox cost {escape(report.tag)} (profile {escape(report.profile)}, {escape(_platform(report))})", caption_justify="left"
    )
    grid.add_column("part", overflow="fold", min_width=24)
    grid.add_column("kind")
    for column, justify in (("size", "right"), ("", "left"), ("share", "right"),
                            ("build time", "right"), ("", "left"), ("share", "right"), ("steps", "right")):  # fmt: skip
        grid.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for part in report.parts:
        cached = f" ({part.cached_steps} cached)" if part.cached_steps else ""
        grid.add_row(
            escape(part.name),
            part.kind,
            human(part.bytes),
            Bar(total_bytes, 0, part.bytes, width=BAR_WIDTH, color="cyan"),
            _share(part.bytes, total_bytes),
            f"{part.seconds:.1f} s",
            Bar(total_seconds, 0, part.seconds, width=BAR_WIDTH, color="magenta"),
            _share(part.seconds, total_seconds),
            f"{part.steps}{cached}" if part.steps else "",
        )
    grid.add_section()
    grid.add_row("total", "", human(total_bytes), "", "", f"{total_seconds:.1f} s", "", "", str(report.steps))
    console.print(grid)
    notes = [
        f"built with {report.mode} in {report.wall_seconds:.1f} s wall time; {report.timing_note()}",
        report.size_note(),
        *report.warnings,
        f"How parts are attributed: {ATTRIBUTION}",
    ]
    console.print(Group(*(Text(f"- {note}") for note in notes)))


def markdown(report: CostReport) -> str:
    total_bytes, total_seconds = report.total_bytes, report.total_seconds
    lines = [
        f"### Image cost: `{report.tag}` (profile {report.profile}, {_platform(report)})",
        "",
        "| part | kind | size | | share | build time | share | steps |",
        "|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for part in report.parts:
        cached = f" ({part.cached_steps} cached)" if part.cached_steps else ""
        lines.append(
            f"| {cell(part.name)} | {part.kind} | {human(part.bytes)} | {_text_bar(part.bytes, total_bytes)} "
            f"| {_share(part.bytes, total_bytes)} | {part.seconds:.1f} s | {_share(part.seconds, total_seconds)} "
            f"| {part.steps or ''}{cached} |"
        )
    lines.append(f"| **total** | | **{human(total_bytes)}** | | | **{total_seconds:.1f} s** | | {report.steps} |")
    lines += ["", f"- built with {report.mode} in {report.wall_seconds:.1f} s wall time; {report.timing_note()}", f"- {report.size_note()}"]
    lines += [f"- {cell(warning)}" for warning in report.warnings]
    lines += ["", f"<details><summary>How parts are attributed</summary>\n\n{ATTRIBUTION}\n\n</details>"]
    return "\n".join(lines) + "\n"


def _platform(report: CostReport) -> str:
    return report.platform or "platform unknown"


def _delta_bytes(change: Change) -> str:
    return human(change.bytes_delta, sign=True)


def _cell_bytes(value: int | None) -> str:
    return human(value) if value is not None else "—"


def _cell_seconds(value: float | None) -> str:
    return f"{value:.1f} s" if value is not None else "—"


def compare_table(changes: list[Change], old_total: int, new_total: int, platform: str, console: Console) -> None:
    grid = Table(title=f"sandbox cost --compare: what the spec change costs, part by part ({escape(platform or 'platform unknown')})")
    for column, justify in (("part", "left"), ("status", "left"), ("size before", "right"), ("after", "right"),
                            ("change", "right"), ("time before", "right"), ("after", "right"), ("change", "right")):  # fmt: skip
        grid.add_column(column, justify=justify)  # type: ignore[arg-type]
    for change in changes:
        grid.add_row(
            escape(change.name), change.status, _cell_bytes(change.old_bytes), _cell_bytes(change.new_bytes), _delta_bytes(change),
            _cell_seconds(change.old_seconds), _cell_seconds(change.new_seconds), f"{change.seconds_delta:+.1f} s",
        )  # fmt: skip
    grid.add_section()
    grid.add_row("total", "", human(old_total), human(new_total), human(new_total - old_total, sign=True), "", "", "")
    console.print(grid)


def _size_changed(change: Change) -> bool:
    return change.status in ("added", "removed") or change.bytes_delta != 0


def _compare_rows(changes: list[Change]) -> list[str]:
    rows = [
        "| part | status | size before | after | change | time before | after | change |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for change in changes:
        rows.append(
            f"| {cell(change.name)} | {change.status} | {_cell_bytes(change.old_bytes)} | {_cell_bytes(change.new_bytes)} "
            f"| {_delta_bytes(change)} | {_cell_seconds(change.old_seconds)} | {_cell_seconds(change.new_seconds)} "
            f"| {change.seconds_delta:+.1f} s |"
        )
    return rows


def compare_markdown(changes: list[Change], old_total: int, new_total: int, platform: str, note: str = "") -> str:
    """The comparison for a pull request body: the parts whose bytes changed (added, removed,
    grown, shrunk) in a table with the total; the parts of the same size folded away below it
    (their time changes are mostly the build's own noise)."""
    changed = [change for change in changes if _size_changed(change)]
    same = [change for change in changes if not _size_changed(change)]
    lines = [f"### Image cost change ({platform or 'platform unknown'})", ""]
    if not changed:
        lines += ["No part changed in size.", ""]
    lines += _compare_rows(changed)
    lines.append(f"| **total** | | {human(old_total)} | {human(new_total)} | **{human(new_total - old_total, sign=True)}** | | | |")
    if same:
        names = ", ".join(cell(change.name) for change in same)
        lines += [
            "",
            f"<details><summary>{len(same)} part(s) of the same size: {names}</summary>",
            "",
            *_compare_rows(same),
            "",
            "</details>",
        ]
    if note:
        lines += ["", f"- {cell(note)}"]
    return "\n".join(lines) + "\n"

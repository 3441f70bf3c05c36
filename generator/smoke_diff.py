"""`sandbox test --compare OLD.json`: what changed between two runs of the smoke test, row by
row (the weekly update puts it in its pull request: the agent suite before and after).

A row is matched by its name. What is worth a reader's attention, in this order: rows that
newly fail, rows that still fail, rows that are new or gone, rows that pass again, and rows
that got slower (both runs passed, and the new time is at least SLOWER_RATIO times the old and
SLOWER_BY seconds more: one run on a noisy machine is no benchmark, so small changes are not
reported).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import UsageError

#: the ``schema`` of a `sandbox test --format json` report
SCHEMA = "sandbox-test-report/1"
MAX_REPORT_BYTES = 8 * 1024 * 1024
#: a report has a row per tool and task and a few more; far fewer than this
MAX_ROWS = 10_000
SLOWER_RATIO = 1.5
SLOWER_BY = 1.0

#: the kinds of change, in the order they are listed
KINDS = ("newly failing", "still failing", "new", "gone", "passing again", "slower")


@dataclass(frozen=True)
class Row:
    name: str
    passed: bool
    detail: str
    seconds: float | None


@dataclass(frozen=True)
class RowChange:
    kind: str
    name: str
    before: Row | None
    after: Row | None

    def as_dict(self) -> dict[str, Any]:
        def side(row: Row | None) -> dict[str, Any] | None:
            return None if row is None else {"passed": row.passed, "detail": row.detail, "seconds": row.seconds}

        return {"kind": self.kind, "name": self.name, "before": side(self.before), "after": side(self.after)}


def load(path: Path) -> dict[str, Any]:
    """An earlier report (`sandbox test --format json` or `--save`), checked enough to compare with;
    read before the container starts, so a report that would be refused costs no run."""
    from generator.safefile import read_report

    data = read_report(path, MAX_REPORT_BYTES, "sandbox test --format json", SCHEMA)
    checks = data.get("checks")
    if not isinstance(checks, list) or len(checks) > MAX_ROWS:
        raise UsageError(f"--compare {path}: its checks are not a list of at most {MAX_ROWS} rows")
    bad = next((number for number, row in enumerate(checks, 1) if _row(row) is None), None)
    if bad is not None:
        raise UsageError(
            f"--compare {path}: its check {bad} is not {{name, passed, detail, seconds}} as `sandbox test --format json` writes it "
            "(name and detail: text; passed: true or false; seconds: a number from 0, or null)"
        )
    return data


def _row(value: Any) -> Row | None:
    if not isinstance(value, dict):
        return None
    name, passed, detail, seconds = (value.get(key) for key in ("name", "passed", "detail", "seconds"))
    if not isinstance(name, str) or not isinstance(passed, bool) or not isinstance(detail, str):
        return None
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds < 1e9):
        return None
    return Row(name, passed, detail, None if seconds is None else float(seconds))


def rows(report: dict[str, Any]) -> dict[str, Row]:
    """The rows of a report, by name (a name seen twice: the last row)."""
    found = {}
    for value in report.get("checks", []):
        row = _row(value)
        if row is not None:
            found[row.name] = row
    return found


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[RowChange]:
    before, after = rows(old), rows(new)
    changes = []
    for name, now in after.items():
        was = before.get(name)
        if was is None:
            changes.append(RowChange("new", name, None, now))
        elif was.passed and not now.passed:
            changes.append(RowChange("newly failing", name, was, now))
        elif not was.passed and not now.passed:
            changes.append(RowChange("still failing", name, was, now))
        elif not was.passed and now.passed:
            changes.append(RowChange("passing again", name, was, now))
        elif _slower(was, now):
            changes.append(RowChange("slower", name, was, now))
    changes += [RowChange("gone", name, was, None) for name, was in before.items() if name not in after]
    return sorted(changes, key=lambda change: KINDS.index(change.kind))


def _slower(was: Row, now: Row) -> bool:
    if was.seconds is None or now.seconds is None:
        return False
    return now.seconds >= was.seconds * SLOWER_RATIO and now.seconds - was.seconds >= SLOWER_BY


def summary(changes: list[RowChange], old: dict[str, Any], new: dict[str, Any]) -> str:
    counts = [f"{sum(c.kind == kind for c in changes)} {kind}" for kind in KINDS if any(c.kind == kind for c in changes)]
    total = f"{len(rows(new))} rows now, {len(rows(old))} before"
    return f"{total}: {', '.join(counts)}" if counts else f"{total}: no row changed (slower: ×{SLOWER_RATIO:g} and +{SLOWER_BY:g} s)"


def _state(row: Row | None) -> str:
    if row is None:
        return "—"
    time = "" if row.seconds is None else f" ({row.seconds:.1f} s)"
    return f"{'PASS' if row.passed else 'FAIL'}{time}"


def cells(change: RowChange) -> tuple[str, str, str, str, str]:
    """kind, check, before, after, and what the run said (the new detail, else the old)."""
    said = change.after.detail if change.after is not None else change.before.detail if change.before is not None else ""
    return change.kind, change.name, _state(change.before), _state(change.after), said


def markdown(changes: list[RowChange], old: dict[str, Any], new: dict[str, Any]) -> str:
    from generator.markdown import cell

    lines = [summary(changes, old, new), ""]
    if changes:
        lines += ["| change | check | before | after | detail |", "|---|---|---|---|---|"]
        lines += ["| " + " | ".join(cell(text) for text in cells(change)) + " |" for change in changes]
    return "\n".join(lines).rstrip() + "\n"

"""The cost report: its parts, its JSON form (what `--compare` reads back), and the
comparison of two reports part by part."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import UsageError

SCHEMA = "sandbox-cost/1"

#: how `sandbox cost` attributes, as the report states it
ATTRIBUTION = (
    "Each build step and each image layer goes to what the generator made it for: a tool's own stage "
    "and the final-stage layers of that tool (its COPY --from, its RUN) are the tool's. A layer made for "
    "several tools at once (the one apt RUN) is not split between them: dpkg installs their packages "
    "together with the dependencies they share, so it is one shared part naming them all. The base image, "
    "the base stage every stage starts from, the user setup, the spec's files and the image metadata are "
    "shared parts of their own. Times are the step durations BuildKit reports (DONE lines), summed per part; "
    "stages run in parallel, so the parts add up to more than the build's wall time. Bytes are the "
    "unpacked layer sizes the engine reports (docker history)."
)


@dataclass(frozen=True)
class Part:
    name: str
    #: tool (one tool's own steps) or shared
    kind: str
    tools: tuple[str, ...]
    seconds: float
    bytes: int
    #: numbered build steps counted, and how many of them came from the cache
    steps: int = 0
    cached_steps: int = 0
    note: str = ""


@dataclass(frozen=True)
class CostReport:
    tag: str
    image_id: str
    profile: str
    #: buildx, or the BuildKit built into an older CLI
    mode: str
    #: classic, containerd or unknown: what the engine's own image size means (see image_bytes)
    image_store: str
    #: the image's size as the engine reports it (unpacked on the classic store; the
    #: compressed content on the containerd store)
    image_bytes: int
    wall_seconds: float
    no_cache: bool
    parts: tuple[Part, ...]
    #: history entries with bytes that no instruction of the layout explains
    unattributed_bytes: int = 0
    warnings: tuple[str, ...] = field(default_factory=tuple)
    #: os/arch[/variant] of the image measured, as the engine reports it (bytes and times
    #: differ per platform: one report is for one platform)
    platform: str = ""

    @property
    def total_bytes(self) -> int:
        return sum(part.bytes for part in self.parts)

    @property
    def total_seconds(self) -> float:
        return sum(part.seconds for part in self.parts)

    @property
    def steps(self) -> int:
        return sum(part.steps for part in self.parts)

    @property
    def cached_steps(self) -> int:
        return sum(part.cached_steps for part in self.parts)

    @property
    def cold(self) -> bool:
        """No step came from the build cache: the times are those of a full build."""
        return self.cached_steps == 0

    def timing_note(self) -> str:
        if self.cold:
            return "times from a cold build: no step came from the build cache" + (" (--no-cache)" if self.no_cache else "")
        return (
            f"{self.cached_steps} of {self.steps} steps came from the build cache and count 0 s here; "
            "run with --no-cache for the times of a cold build"
        )

    def size_note(self) -> str:
        if self.image_store == "classic":
            difference = self.total_bytes - self.image_bytes
            return f"the parts add up to {self.total_bytes} bytes; the engine reports the image as {self.image_bytes} ({difference:+d})"
        if self.image_store == "containerd":
            return (
                f"the parts add up to {self.total_bytes} unpacked bytes; this engine's containerd image store "
                f"reports the image's compressed content ({self.image_bytes} bytes) instead"
            )
        return (
            f"the parts add up to {self.total_bytes} unpacked bytes; the engine reports {self.image_bytes} "
            "(its image store could not be told)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "platform": self.platform or "unknown",
            "image": {"tag": self.tag, "id": self.image_id, "bytes": self.image_bytes, "store": self.image_store},
            "profile": self.profile,
            "build": {
                "mode": self.mode,
                "wall_seconds": round(self.wall_seconds, 1),
                "no_cache": self.no_cache,
                "steps": self.steps,
                "cached_steps": self.cached_steps,
                "cold": self.cold,
            },
            "totals": {"bytes": self.total_bytes, "seconds": round(self.total_seconds, 1), "unattributed_bytes": self.unattributed_bytes},
            "attribution": ATTRIBUTION,
            "notes": [self.timing_note(), self.size_note(), *self.warnings],
            "parts": [
                {
                    **{key: value for key, value in asdict(part).items() if key != "tools"},
                    "tools": list(part.tools),
                    "seconds": round(part.seconds, 1),
                    "share_bytes": round(part.bytes / self.total_bytes, 4) if self.total_bytes else 0.0,
                    "share_seconds": round(part.seconds / self.total_seconds, 4) if self.total_seconds else 0.0,
                }
                for part in self.parts
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n"


def platform_of(data: dict[str, Any]) -> str | None:
    """The platform an earlier report was measured on; None for a report made before reports
    named it."""
    platform = data.get("platform")
    return platform if isinstance(platform, str) and platform != "unknown" else None


def same_platform(one: str, other: str) -> bool:
    """linux/arm64 and linux/arm64/v8 are one platform: an engine may add the default variant."""
    return one == other or one.startswith(other + "/") or other.startswith(one + "/")


def refuse_other_platform(old: dict[str, Any], path: Path, platform: str) -> None:
    """Bytes and times differ per platform: a comparison across platforms would show the
    architecture's difference as the spec change's, so it is refused."""
    earlier = platform_of(old)
    if earlier is not None and platform and not same_platform(earlier, platform):
        raise UsageError(
            f"--compare {path}: that report is for {earlier}, this one for {platform}; "
            f"compare reports of one platform (sandbox cost --platform {earlier} --compare {path})"
        )


#: the largest earlier report read: one part is about 300 bytes, so a report of thousands of
#: tools stays far below this; a larger file is refused before more of it is read
MAX_REPORT_BYTES = 8 << 20
#: the most parts an earlier report may have: one per tool and a few shared ones; a table of
#: hundreds of thousands (8 MiB of tiny parts) would take minutes to draw after the build
MAX_REPORT_PARTS = 10_000
#: the largest byte count a part may claim (an exabyte): larger ones are not an image's, and a
#: number past a float's range could not even be shown
MAX_PART_BYTES = 10**18


def load(path: Path) -> dict[str, Any]:
    """An earlier report (`sandbox cost --format json`), checked enough to compare with: read before
    the build starts, so a report that would be refused costs no build."""
    from generator.safefile import read_report

    data = read_report(path, MAX_REPORT_BYTES, "sandbox cost --format json", SCHEMA)
    parts = data.get("parts")
    if not isinstance(parts, list):
        raise UsageError(f"--compare {path}: its parts are not a list")
    if len(parts) > MAX_REPORT_PARTS:
        raise UsageError(
            f"--compare {path}: {len(parts)} parts; a report has one per tool and a few shared ones, at most {MAX_REPORT_PARTS}"
        )
    bad = next((number for number, part in enumerate(parts, 1) if not _is_part(part)), None)
    if bad is not None:
        raise UsageError(
            f"--compare {path}: its part {bad} is not {{name, tools, bytes, seconds}} as `sandbox cost --format json` "
            "writes it (name and tools: text without control characters; bytes: a whole number from 0; seconds: a number from 0)"
        )
    if not isinstance(data.get("build", {}), dict):
        raise UsageError(f"--compare {path}: its build is not an object")
    return data


def _is_part(part: Any) -> bool:
    """One part as `sandbox cost --format json` writes it; the names reach the terminal and a Markdown
    table, the numbers arithmetic and formatting."""
    from generator.terminal import has_controls

    def text(value: Any) -> bool:
        return isinstance(value, str) and not has_controls(value)

    if not isinstance(part, dict):
        return False
    size, seconds, tools = part.get("bytes"), part.get("seconds"), part.get("tools")
    return (
        text(part.get("name"))
        and isinstance(tools, list) and all(text(tool) for tool in tools)
        and isinstance(size, int) and not isinstance(size, bool) and 0 <= size <= MAX_PART_BYTES
        and isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and 0 <= seconds < float("inf")
    )  # fmt: skip


@dataclass(frozen=True)
class Change:
    """One part in the old report, the new one, or both."""

    name: str
    old_bytes: int | None
    new_bytes: int | None
    old_seconds: float | None
    new_seconds: float | None

    @property
    def status(self) -> str:
        if self.old_bytes is None:
            return "added"
        if self.new_bytes is None:
            return "removed"
        # "changed" only where a figure moved: a table of parts that all say "changed" hides
        # the one that did
        if self.bytes_delta == 0 and round(self.seconds_delta, 1) == 0:
            return "unchanged"
        return "changed"

    @property
    def bytes_delta(self) -> int:
        return (self.new_bytes or 0) - (self.old_bytes or 0)

    @property
    def seconds_delta(self) -> float:
        return (self.new_seconds or 0.0) - (self.old_seconds or 0.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "status": self.status,
            "old_bytes": self.old_bytes, "new_bytes": self.new_bytes, "bytes_delta": self.bytes_delta,
            "old_seconds": self.old_seconds, "new_seconds": self.new_seconds, "seconds_delta": round(self.seconds_delta, 1),
        }  # fmt: skip


def _change_name(old: dict[str, Any] | None, new: dict[str, Any] | None) -> str:
    """A part's name in a comparison: ``old → new`` when a shared part was renamed."""
    if old is None or new is None:
        return str((old or new or {}).get("name", ""))
    return str(new["name"]) if new["name"] == old["name"] else f"{old['name']} → {new['name']}"


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Part by part, the largest change in bytes first. Parts match by name; a shared part
    whose tools changed (its name lists them) matches the old shared part it has a tool in
    common with, so dropping one apt tool shows as that part shrinking."""
    old_parts = {p["name"]: p for p in old["parts"]}
    new_parts = {p["name"]: p for p in new["parts"]}
    pairs: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = [(old_parts[n], new_parts[n]) for n in new_parts if n in old_parts]
    left_old = [p for n, p in old_parts.items() if n not in new_parts]
    left_new = [p for n, p in new_parts.items() if n not in old_parts]
    for part in list(left_new):
        partner = next(
            (o for o in left_old if len(o["tools"]) > 1 and len(part["tools"]) > 1 and set(o["tools"]) & set(part["tools"])), None
        )
        if partner is not None:
            pairs.append((partner, part))
            left_old.remove(partner)
            left_new.remove(part)
    pairs += [(p, None) for p in left_old] + [(None, p) for p in left_new]
    changes = [
        Change(
            name=_change_name(o, n),
            old_bytes=o["bytes"] if o else None,
            new_bytes=n["bytes"] if n else None,
            old_seconds=o["seconds"] if o else None,
            new_seconds=n["seconds"] if n else None,
        )
        for o, n in pairs
    ]
    return sorted(changes, key=lambda c: (-abs(c.bytes_delta), -abs(c.seconds_delta), c.name))


def compare_note(old: dict[str, Any], new: CostReport) -> str:
    """What a reader must know before reading the changes: '' when both reports measured the
    same kind of build on the same platform."""
    notes = []
    if platform_of(old) is None:
        notes.append(
            f"the old report does not name its platform (made before sandbox cost recorded it); "
            f"this one is for {new.platform or 'an unknown platform'}: make sure both are"
        )
    was_cold = (old.get("build") or {}).get("cold")
    if was_cold is not None and was_cold != new.cold:
        which = (
            "the old report's build was cold, this one used the cache"
            if was_cold
            else "this build was cold, the old report's used the cache"
        )
        notes.append(f"{which}: the time changes are mostly the build cache's, not the spec's (compare two --no-cache reports)")
    return "; ".join(notes)

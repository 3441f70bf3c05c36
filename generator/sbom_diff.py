"""What changed between two CycloneDX SBOMs that `sandbox sbom` wrote: components added,
removed, or with another version, purl or digest, as Markdown for a pull request body."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from generator.errors import UsageError
from generator.safefile import read_regular


def read_sbom(path: Path) -> str:
    """An earlier SBOM's text (a regular file only: a FIFO would block)."""
    try:
        return read_regular(path).decode("utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None


@dataclass(frozen=True)
class Entry:
    """One component as far as a reviewer cares: what it is, and which bytes."""

    #: the spec's tool (or "image" / "builder image" for the images)
    tool: str
    name: str
    version: str
    purl: str
    #: (download key such as amd64, sha256); the image's own digest under "image"
    digests: tuple[tuple[str, str], ...]

    def summary(self) -> str:
        digests = ", ".join(f"{key} {sha[:12]}…" for key, sha in self.digests) or "no sha256"
        return f"{self.version or 'unversioned'} ({digests})"


@dataclass(frozen=True)
class SbomChange:
    kind: str  # added, removed, changed
    tool: str
    name: str
    before: str
    after: str


def entries(text: str, source: str) -> dict[tuple[str, str], Entry]:
    """The components of a CycloneDX document, by (tool, name)."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{source}: not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        raise UsageError(f"{source}: not a CycloneDX SBOM (as `sandbox sbom` writes by default)")
    found: dict[tuple[str, str], Entry] = {}
    for component in document.get("components") or []:
        properties = {p.get("name"): p.get("value") for p in component.get("properties") or []}
        if component.get("type") == "container":
            tool = "builder image" if component.get("scope") == "excluded" else "image"
            digests = tuple(("image", h["content"]) for h in component.get("hashes") or [])
        else:
            tool = str(properties.get("sandbox:tool", "?"))
            digests = tuple(
                (str(ref.get("comment", "")).split(";")[0], h["content"])
                for ref in component.get("externalReferences") or []
                for h in ref.get("hashes") or []
            )
        entry = Entry(tool, str(component.get("name", "?")), str(component.get("version", "")), str(component.get("purl", "")), digests)
        found[(entry.tool, entry.name)] = entry
    return found


def diff(old_text: str, new_text: str, old_source: str = "the old SBOM", new_source: str = "the new SBOM") -> list[SbomChange]:
    old, new = entries(old_text, old_source), entries(new_text, new_source)
    changes = []
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        tool, name = key
        if before is None:
            changes.append(SbomChange("added", tool, name, "", after.summary()))  # type: ignore[union-attr]
        elif after is None:
            changes.append(SbomChange("removed", tool, name, before.summary(), ""))
        else:
            changes.append(SbomChange("changed", tool, name, before.summary(), after.summary()))
    return changes


def markdown(changes: list[SbomChange]) -> str:
    if not changes:
        return "No component of the SBOM changed.\n"
    lines = ["| component | tool | change | before | after |", "|---|---|---|---|---|"]
    for c in changes:
        cells = [c.name, c.tool, c.kind, c.before or "—", c.after or "—"]
        lines.append("| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |")
    return "\n".join(lines) + "\n"

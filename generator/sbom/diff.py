"""What changed between two CycloneDX SBOMs that `sandbox sbom` wrote: components added,
removed, or with another version, purl or digest, as Markdown for a pull request body."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from generator.errors import UsageError
from generator.markdown import cell
from generator.safefile import read_regular

#: the largest earlier SBOM read: a component is under 1 KiB, so an image of thousands of
#: packages stays far below this; a larger file is refused before more of it is read
MAX_SBOM_BYTES = 32 << 20


def read_sbom(path: Path) -> str:
    """An earlier SBOM's text (a regular file only: a FIFO would block)."""
    try:
        return read_regular(path, MAX_SBOM_BYTES).decode("utf-8")
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
    except RecursionError:
        raise UsageError(f"{source}: not a CycloneDX SBOM (nested too deeply)") from None
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        raise UsageError(f"{source}: not a CycloneDX SBOM (as `sandbox sbom` writes by default)")
    found: dict[tuple[str, str], Entry] = {}
    for number, component in enumerate(_objects(document, "components", source), 1):
        where = f"{source}: component {number}"
        properties = {_text(p, "name", where): _text(p, "value", where) for p in _objects(component, "properties", where)}
        if component.get("type") == "container":
            tool = "builder image" if component.get("scope") == "excluded" else "image"
            digests = tuple(("image", _text(h, "content", where, required=True)) for h in _objects(component, "hashes", where))
        else:
            tool = properties.get("sandbox:tool") or "?"
            digests = tuple(
                (_text(ref, "comment", where).split(";")[0], _text(h, "content", where, required=True))
                for ref in _objects(component, "externalReferences", where)
                for h in _objects(ref, "hashes", where)
            )
        entry = Entry(
            tool, _text(component, "name", where) or "?", _text(component, "version", where), _text(component, "purl", where), digests
        )
        found[(entry.tool, entry.name)] = entry
    return found


def _objects(parent: dict[str, object], key: str, where: str) -> list[dict[str, object]]:
    """``parent[key]``: a list of objects, or none when it is missing."""
    value = parent.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise UsageError(f"{where}: {key} is not a list of objects, as in a CycloneDX SBOM")
    return value


def _text(parent: dict[str, object], key: str, where: str, *, required: bool = False) -> str:
    """``parent[key]``: text, or '' when it is missing and may be."""
    value = parent.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise UsageError(f"{where}: {key} is not text, as in a CycloneDX SBOM")
    return value


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
        lines.append("| " + " | ".join(cell(text) for text in cells) + " |")
    return "\n".join(lines) + "\n"

"""sandbox.lock: sha256 digests computed from the real artifacts, keyed by tool and URL.

A digest is used only while its URL still matches what the spec renders, so bumping a
version without re-locking never pairs a new URL with an old digest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML

LOCK_NAME = "sandbox.lock"


@dataclass(frozen=True)
class LockEntry:
    url: str
    sha256: str


@dataclass
class Lock:
    #: tool name -> key (an arch such as amd64, or "script") -> entry
    artifacts: dict[str, dict[str, LockEntry]] = field(default_factory=dict)
    #: base image reference -> digest
    images: dict[str, str] = field(default_factory=dict)

    def sha256(self, tool: str, key: str, url: str) -> str | None:
        entry = self.artifacts.get(tool, {}).get(key)
        return entry.sha256 if entry and entry.url == url else None

    @classmethod
    def read(cls, path: Path) -> Lock:
        if not path.exists():
            return cls()
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
        artifacts = {
            tool: {key: LockEntry(str(e["url"]), str(e["sha256"])) for key, e in (entries or {}).items()}
            for tool, entries in (data.get("artifacts") or {}).items()
        }
        return cls(artifacts=artifacts, images={str(k): str(v) for k, v in (data.get("images") or {}).items()})

    @classmethod
    def beside(cls, spec_path: Path | None) -> Lock:
        return cls.read(spec_path.parent / LOCK_NAME) if spec_path else cls()

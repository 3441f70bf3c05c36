"""sandbox.lock: sha256 digests computed from the real artifacts, keyed by tool and URL,
and the transitive locks of package-manager tools (npm, uv), kept as files under locks/.

A digest is used only while its URL still matches what the spec renders, so bumping a
version without re-locking never pairs a new URL with an old digest; likewise a package
lock is used only while the spec still asks for what it resolved. The file is written by
`sandbox lock` only, sorted, so the same content is always the same bytes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML

from generator import yamltree
from generator.errors import UsageError
from generator.paths import LOCK_NAME, LOCKS_DIR
from generator.safefile import MAX_INPUT_BYTES, read_regular

#: a lock larger than this is refused unread
MAX_LOCK_BYTES = MAX_INPUT_BYTES

HEADER = "# sandbox.lock: written by `sandbox lock`. Do not edit.\n"

_SHA256 = re.compile(r"[0-9a-f]{64}")
#: a file of a package lock: locks/TOOL/NAME, both plain names
_LOCK_FILE = re.compile(r"locks/[a-z0-9][a-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
_COMMAND = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def is_command_name(name: str) -> bool:
    """Whether ``name`` may be a command a package lock links (a plain file name)."""
    return bool(_COMMAND.fullmatch(name))


_IMAGE_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class LockEntry:
    url: str
    sha256: str


@dataclass(frozen=True)
class PackageLock:
    """A tool's transitive lock: the package manager's own lock files under locks/TOOL/,
    from which the build installs every package by its hash."""

    #: what was resolved, as the tool's method words it (e.g. "pnpm@12.21.0"); the lock is
    #: used only while the spec still asks for exactly this
    resolves: str
    #: commands the top package installs, linked into the user's bin directory
    commands: tuple[str, ...]
    #: each file, relative to the lock's directory (locks/TOOL/NAME) -> its sha256
    files: dict[str, str]


@dataclass
class Lock:
    #: tool name -> key (an arch such as amd64, or "script") -> entry
    artifacts: dict[str, dict[str, LockEntry]] = field(default_factory=dict)
    #: base image reference -> digest
    images: dict[str, str] = field(default_factory=dict)
    #: tool name -> its transitive lock (npm and uv tools)
    packages: dict[str, PackageLock] = field(default_factory=dict)

    def package(self, tool: str, resolves: str) -> PackageLock | None:
        """The tool's package lock while it resolves what the spec asks for now."""
        entry = self.packages.get(tool)
        return entry if entry and entry.resolves == resolves else None

    def sha256(self, tool: str, key: str, url: str) -> str | None:
        entry = self.artifacts.get(tool, {}).get(key)
        return entry.sha256 if entry and entry.url == url else None

    def entry(self, tool: str, key: str) -> LockEntry | None:
        return self.artifacts.get(tool, {}).get(key)

    def set(self, tool: str, key: str, entry: LockEntry) -> None:
        self.artifacts.setdefault(tool, {})[key] = entry

    def stale(self, expected: dict[tuple[str, str], str], images: AbstractSet[str], packages: dict[str, str] | None = None) -> list[str]:
        """Entries that no longer match the spec, each as one readable line.

        ``expected`` maps (tool, key) to the URL the spec downloads now; ``images`` are the
        image references the spec wants digests for; ``packages`` maps each tool with a
        transitive lock to what it resolves now. A missing entry is not stale (the build
        falls back to the spec's own verification); a changed URL or a leftover entry is.
        """
        found = []
        for tool, entries in sorted(self.artifacts.items()):
            for key, entry in sorted(entries.items()):
                url = expected.get((tool, key))
                if url is None:
                    found.append(f"{tool} {key}: the spec no longer downloads {entry.url}")
                elif url != entry.url:
                    found.append(f"{tool} {key}: locked {entry.url} but the spec now downloads {url}")
        for reference in sorted(set(self.images) - images):
            found.append(f"image {reference}: the spec no longer uses it")
        for tool, package in sorted(self.packages.items()):
            wanted = (packages or {}).get(tool)
            if wanted is None:
                found.append(f"{tool} packages: the spec no longer installs {package.resolves}")
            elif wanted != package.resolves:
                found.append(f"{tool} packages: locked {package.resolves} but the spec now installs {wanted}")
        return found

    def pruned(self, expected: dict[tuple[str, str], str], images: AbstractSet[str], packages: AbstractSet[str] = frozenset()) -> Lock:
        """Only the entries the spec still downloads (a changed URL is kept: it is replaced
        when locked, and reported as stale until then); ``packages``: the tools that still
        have a transitive lock."""
        artifacts = {
            tool: kept
            for tool, entries in self.artifacts.items()
            if (kept := {key: e for key, e in entries.items() if (tool, key) in expected})
        }
        kept_packages = {tool: p for tool, p in self.packages.items() if tool in packages}
        return Lock(artifacts, {ref: d for ref, d in self.images.items() if ref in images}, kept_packages)

    def dumps(self) -> str:
        def block(mapping: Mapping[str, object]) -> str:
            if not mapping:
                return " {}\n"
            text = _dump(mapping)
            return "\n" + "".join(f"  {line}\n" for line in text.splitlines())

        artifacts = {
            tool: {key: {"url": e.url, "sha256": e.sha256} for key, e in sorted(entries.items())}
            for tool, entries in sorted(self.artifacts.items())
            if entries
        }
        images = dict(sorted(self.images.items()))
        text = f"{HEADER}artifacts:{block(artifacts)}images:{block(images)}"
        if not self.packages:  # a lock without package locks keeps its old shape
            return text
        packages = {
            tool: {"resolves": p.resolves, "commands": list(p.commands), "files": dict(sorted(p.files.items()))}
            for tool, p in sorted(self.packages.items())
        }
        return f"{text}packages:{block(packages)}"

    def write(self, path: Path) -> bool:
        from generator.output import write_atomic

        return write_atomic(path, self.dumps())

    @classmethod
    def read(cls, path: Path) -> Lock:
        """The lock at ``path``; no file at all means an empty lock. Anything else that is
        not a readable regular file is an error, not absence: a dangling symlink would
        otherwise drop every locked digest from the Dockerfile without a word, and a FIFO
        or device is refused before it is opened (it could block for ever)."""
        if not os.path.lexists(path):
            return cls()
        try:
            text = read_regular(path, MAX_LOCK_BYTES).decode("utf-8")
        except FileNotFoundError:
            raise UsageError(
                f"{path}: a symlink to {os.readlink(path)}, which does not exist; restore the lock file or remove the link"
            ) from None
        except OSError as exc:
            raise UsageError(f"{path}: cannot read the lock file: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path}: not a readable lock file ({exc}); regenerate it with `sandbox lock`") from None
        try:
            data = yamltree.load(text, str(path)) or {}
        except yamltree.YamlProblem as exc:
            problem = exc.problem
            raise UsageError(
                f"{path}:{problem.line}:{problem.column}: not a readable lock file ({problem.message}); regenerate it with `sandbox lock`"
            ) from None
        return cls.from_data(data, path)

    @classmethod
    def from_data(cls, data: object, path: Path) -> Lock:
        def bad(where: str, what: str) -> UsageError:
            return UsageError(f"{path}: {where}: {what}; regenerate it with `sandbox lock`")

        if not isinstance(data, dict) or set(data) - {"artifacts", "images", "packages"}:
            raise bad("top level", "expected the keys artifacts, images and packages")
        lock = cls()
        artifacts = data.get("artifacts") or {}
        if not isinstance(artifacts, dict):
            raise bad("artifacts", "expected a mapping of tool names")
        for tool, entries in artifacts.items():
            if not isinstance(entries, dict):
                raise bad(f"artifacts.{tool}", "expected a mapping of keys to entries")
            for key, entry in entries.items():
                where = f"artifacts.{tool}.{key}"
                if not isinstance(entry, dict) or set(entry) != {"url", "sha256"}:
                    raise bad(where, "expected url and sha256")
                if not _SHA256.fullmatch(str(entry["sha256"])):
                    raise bad(f"{where}.sha256", "expected 64 lowercase hex digits")
                lock.set(str(tool), str(key), LockEntry(str(entry["url"]), str(entry["sha256"])))
        images = data.get("images") or {}
        if not isinstance(images, dict):
            raise bad("images", "expected a mapping of image references to digests")
        for reference, digest in images.items():
            if not _IMAGE_DIGEST.fullmatch(str(digest)):
                raise bad(f"images.{reference}", "expected sha256: and 64 hex digits")
            lock.images[str(reference)] = str(digest)
        packages = data.get("packages") or {}
        if not isinstance(packages, dict):
            raise bad("packages", "expected a mapping of tool names")
        for tool, entry in packages.items():
            lock.packages[str(tool)] = _package_lock(entry, f"packages.{tool}", str(tool), bad)
        return lock

    @classmethod
    def beside(cls, spec_path: Path | None) -> Lock:
        return cls.read(spec_path.parent / LOCK_NAME) if spec_path else cls()


def _package_lock(entry: object, where: str, tool: str, bad: Callable[[str, str], UsageError]) -> PackageLock:
    if not isinstance(entry, dict) or set(entry) != {"resolves", "commands", "files"}:
        raise bad(where, "expected resolves, commands and files")
    commands, files = entry["commands"], entry["files"]
    if not isinstance(commands, list) or not all(isinstance(c, str) and _COMMAND.fullmatch(c) for c in commands):
        raise bad(f"{where}.commands", "expected a list of command names")
    if not isinstance(files, dict) or not files:
        raise bad(f"{where}.files", "expected a mapping of files under locks/ to their sha256")
    for path, digest in files.items():
        if not _LOCK_FILE.fullmatch(str(path)) or str(path).split("/")[1] != tool:
            raise bad(f"{where}.files", f"{path!r} is not a file of {LOCKS_DIR}/{tool}/")
        if not _SHA256.fullmatch(str(digest)):
            raise bad(f"{where}.files.{path}", "expected 64 lowercase hex digits")
    return PackageLock(str(entry["resolves"]), tuple(commands), {str(p): str(d) for p, d in files.items()})


def _dump(data: Mapping[str, object]) -> str:
    import io

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()

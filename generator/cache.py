"""What `generate` and `check` found the last time their inputs were exactly these bytes.

Rendering is deterministic: the same spec bytes, lock bytes, spec file name, profiles and
generator (its sources, templates, and the versions of what it runs on) give the same
Dockerfiles to the byte. So a successful run records, under a hash of all of those, each
output's path and the sha256 of its text, and whether the lock was free of stale entries.
A later run with the same key only has to hash the files on disk: no YAML, no pydantic,
no Jinja. Anything unexpected (an unreadable input, a corrupt or foreign entry, a cache
that cannot be written) means "no entry", and the command does the full work.

Standard library only, and nothing heavy: this module runs before the decision to load
the spec is made, so every millisecond it imports is paid on every hit.

Why it is kept (bench/generator_speed.py, default spec): a hit takes ~65 ms (0.66× the
import floor), the full path ~310 ms (3.2×), most of it ruamel's pure-Python composer,
pydantic's model building and imports (see the phase table in bench/README.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from generator.paths import LOCK_NAME, LOCKS_DIR, PACKAGE_DIR, private_to_user, templates_dir, user_cache_dir, user_state_dir
from generator.safefile import MAX_INPUT_BYTES, read_regular
from generator.terminal import has_controls

#: an entry is a few hundred bytes; anything much larger is not one of ours
MAX_ENTRY_BYTES = 64 * 1024
#: bump when the entry layout or the meaning of the key changes
FORMAT = 3
#: distributions whose code decides the rendered text (dist-info names, normalised)
_DISTRIBUTIONS = frozenset({"opencode_sandbox", "pydantic", "pydantic_core", "jinja2", "markupsafe", "ruamel_yaml", "ruamel_yaml_clib"})
_SOURCE_SUFFIXES = (".py", ".j2")
_SOURCE_NAMES = frozenset({"hadolint.yaml"})


#: whether `--no-cache` was given to the command that is running (generator.cli.main
#: resets it, so it does not outlive the command in an in-process run)
_BYPASS: dict[str, bool] = {"on": False}


def disabled_by_env() -> bool:
    """SANDBOX_NO_CACHE set, or `--no-cache` given: no cache, result or compiled template,
    is read or written."""
    return _BYPASS["on"] or os.environ.get("SANDBOX_NO_CACHE", "") not in ("", "0")


def disable() -> None:
    """No cache for the rest of this command (`--no-cache`)."""
    _BYPASS["on"] = True


def reset() -> None:
    _BYPASS["on"] = False


def secret() -> bytes | None:
    """The key that signs what the caches hold, made on first use: 32 random bytes, kept
    under $XDG_STATE_HOME (not in the cache directory: a cache restored, copied or edited
    apart from it cannot sign its entries). None, and no cache, when it cannot be had."""
    directory = user_state_dir("keys")
    if directory is None:
        return None
    path = directory / "cache-signing-key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        pass
    except OSError:
        return None
    else:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(os.urandom(32).hex())
    if not private_to_user(path):
        return None
    try:
        key = read_regular(path, 1024)
    except OSError:
        return None
    return key if len(key) == 64 else None  # another run still writing it: no cache this time


def sign(key: bytes, *parts: bytes) -> str:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        mac.update(len(part).to_bytes(8, "big") + part)
    return mac.hexdigest()


def _files(root: Path) -> Iterator[Path]:
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if entry.name != "__pycache__":
                yield from _files(Path(entry.path))
        elif entry.name.endswith(_SOURCE_SUFFIXES) or entry.name in _SOURCE_NAMES:
            yield Path(entry.path)


def _distributions() -> list[str]:
    """name-version of the distributions that matter, as installed (dist-info folders:
    listing site-packages is far cheaper than importlib.metadata)."""
    found = []
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                dist = name[: -len(".dist-info")]
                project = dist.split("-", 1)[0].lower().replace(".", "_").replace("-", "_")
                if project in _DISTRIBUTIONS:
                    found.append(f"{entry}:{dist}")
    return sorted(found)


@cache
def generator_fingerprint() -> str:
    """sha256 over the generator's own sources, templates and lint config (bytes, so a
    restored mtime cannot hide an edit), the dependency versions and the Python."""
    digest = hashlib.sha256()
    digest.update(json.dumps([FORMAT, sys.version, sys.implementation.cache_tag, _distributions()]).encode())
    roots = [PACKAGE_DIR, templates_dir()]
    seen: set[Path] = set()
    for root in roots:
        for path in _files(root):
            if path in seen:
                continue
            seen.add(path)
            data = path.read_bytes()
            digest.update(f"\0{path.relative_to(root)}\0{len(data)}\0".encode())
            digest.update(data)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sha256_file(path: Path) -> str | None:
    try:
        return hashlib.sha256(read_regular(path)).hexdigest()
    except OSError:  # also a FIFO or device (refused unopened): no match, the full run reports it
        return None


@dataclass(frozen=True)
class OutputRecord:
    #: what the output is, as generate says it: "profile full", "run file of profile full"
    profile: str
    #: relative to the spec's directory, as the spec's profile declares it
    output: str
    sha256: str


@dataclass(frozen=True)
class Entry:
    outputs: tuple[OutputRecord, ...]
    #: no sandbox.lock entry was stale (what `check` fails on besides drift)
    lock_fresh: bool

    def paths(self, spec_path: Path) -> list[Path]:
        return [spec_path.parent / record.output for record in self.outputs]

    def matches_disk(self, spec_path: Path) -> bool:
        """Every output file on disk holds exactly the text this entry recorded."""
        return all(_sha256_file(spec_path.parent / r.output) == r.sha256 for r in self.outputs)

    def _signed(self, key: bytes, slot: str) -> str:
        """The signature binding this entry to its slot (the inputs' hash): an entry edited,
        or moved to another slot, by anything but sandbox no longer matches it."""
        outputs = [[r.profile, r.output, r.sha256] for r in self.outputs]
        return sign(key, slot.encode(), json.dumps([FORMAT, outputs, self.lock_fresh]).encode())

    def dumps(self, key: bytes = b"", slot: str = "") -> str:
        outputs = [[r.profile, r.output, r.sha256] for r in self.outputs]
        return json.dumps({"format": FORMAT, "outputs": outputs, "lock_fresh": self.lock_fresh, "mac": self._signed(key, slot)})

    @classmethod
    def loads(cls, text: str, key: bytes = b"", slot: str = "") -> Entry | None:
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("lock_fresh"), bool):
                return None
            if not isinstance(data.get("mac"), str):
                return None
            outputs = data["outputs"]
            if not isinstance(outputs, list) or not outputs:
                return None
            records = []
            for item in outputs:
                if not (isinstance(item, list) and len(item) == 3 and all(isinstance(v, str) for v in item)):
                    return None
                if any(has_controls(v) for v in item):  # echoed on a hit
                    return None
                profile, output, sha = item
                if len(sha) != 64 or not _is_relative(output):
                    return None
                records.append(OutputRecord(profile, output, sha))
            entry = cls(tuple(records), data["lock_fresh"])
            return entry if hmac.compare_digest(entry._signed(key, slot), data["mac"]) else None
        except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: nested too deep
            return None


def _is_relative(output: str) -> bool:
    """An entry may only point inside the spec's directory (a tampered cache file must not
    make `check` hash, or `generate` report on, some other file)."""
    path = Path(output)
    return bool(output) and not path.is_absolute() and ".." not in path.parts


def _lock_files(directory: Path) -> list[Path]:
    """The regular files under locks/ (TOOL/NAME), sorted; none when there is no such directory."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*/*") if p.is_file() and not p.is_symlink())


class ResultCache:
    """The cache slot of one command line: its key is computed from the inputs as they
    are when the command starts, and checked again before anything is stored."""

    def __init__(self, spec_path: Path, profiles: Iterable[str], enabled: bool = True) -> None:
        self.spec_path = spec_path
        self.profiles = list(profiles)
        if not enabled:
            disable()  # nothing cached is read for the rest of the command: templates neither
        self.directory = user_cache_dir("results") if not disabled_by_env() else None
        self.secret = secret() if self.directory is not None else None
        self.key = self._key() if self.secret is not None else None

    def _key(self) -> str | None:
        try:
            # read_regular: a FIFO or device spec or lock is refused unopened, never waited on
            spec = read_regular(self.spec_path, MAX_INPUT_BYTES)
            lock_path = self.spec_path.parent / LOCK_NAME
            # no lock at all; a dangling symlink is not absence (the full run reports it)
            lock: bytes | None = read_regular(lock_path, MAX_INPUT_BYTES) if os.path.lexists(lock_path) else None
            fingerprint = generator_fingerprint()
        except OSError:
            return None  # the full path reports it properly
        digest = hashlib.sha256()
        header = [FORMAT, fingerprint, self.spec_path.name, self.profiles, lock is not None]
        digest.update(json.dumps(header).encode())
        digest.update(hashlib.sha256(spec).digest())
        digest.update(hashlib.sha256(lock or b"").digest())
        # the transitive locks' files (check compares them with sandbox.lock's sha256)
        for path in _lock_files(self.spec_path.parent / LOCKS_DIR):
            digest.update(path.relative_to(self.spec_path.parent).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(read_regular(path, MAX_INPUT_BYTES)).digest())
        return digest.hexdigest()

    def _file(self) -> Path | None:
        return self.directory / f"{self.key}.json" if self.directory is not None and self.key else None

    def lookup(self) -> Entry | None:
        path = self._file()
        if path is None or not private_to_user(path):
            return None
        try:
            return Entry.loads(read_regular(path, MAX_ENTRY_BYTES).decode("utf-8"), self.secret or b"", self.key or "")
        except (OSError, UnicodeDecodeError):
            return None

    def store(self, outputs: Iterable[tuple[str, Path, str]], lock_fresh: bool) -> None:
        """Record a successful run: (profile, output path, rendered text) per profile.
        Nothing is stored if the spec or lock changed while the command ran."""
        path = self._file()
        if path is None or self._key() != self.key:
            return
        try:
            records = tuple(
                OutputRecord(profile, target.relative_to(self.spec_path.parent).as_posix(), sha256_text(text))
                for profile, target, text in outputs
            )
        except ValueError:
            return
        entry = Entry(records, lock_fresh)
        key, slot = self.secret or b"", self.key or ""
        if Entry.loads(entry.dumps(key, slot), key, slot) != entry:
            return
        write_atomic(path, entry.dumps(key, slot))


def write_atomic(path: Path, data: str | bytes) -> None:
    """A cache file written whole (temp file + rename, 0600 as mkstemp makes it), or not at all."""
    import tempfile  # only a miss writes; a hit should not pay for the import

    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".entry.", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass

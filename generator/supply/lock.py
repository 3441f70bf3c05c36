"""`sandbox lock`: fetch every download of the spec, record its sha256, and the images'
digests; and have each package-manager tool's own client resolve its transitive lock
(files under locks/TOOL/, their sha256 in sandbox.lock).

What is downloaded comes from each install method's ``downloads()``, what is resolved from
its ``transitive_subject()`` and ``resolve_transitive()``; this module knows no method by
name. Entries whose URL is unchanged are kept without fetching (so an
interrupted run resumes where it stopped), every failure is collected rather than
stopping the run, and the lock file is written atomically with whatever succeeded.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import UpstreamError, UsageError
from generator.lockfile import Lock, LockEntry, PackageLock, is_command_name
from generator.methods.context import RenderContext
from generator.methods.data import ResolvedPackages
from generator.paths import LOCKS_DIR
from generator.spec import Spec
from generator.terminal import escape_controls

if TYPE_CHECKING:  # `sandbox check` imports this module: keep HTTP and threads out of its start-up
    from concurrent.futures import Future

    from generator.methods.protocol import InstallMethod
    from generator.supply.fetch import Http
    from generator.supply.registry import Registry
    from generator.supply.upstreams import Upstreams

ARCHES = {"amd64", "arm64"}
#: a digest as a checksum file may write it (sha256sum --check reads either case)
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True, order=True)
class Download:
    tool: str
    key: str
    url: str

    def __str__(self) -> str:
        return f"{self.tool} {self.key}"


def downloads(spec: Spec) -> list[Download]:
    """Every file the spec's enabled tools fetch outside a package manager, on every platform."""
    ctx = RenderContext(spec, spec.default_profile, Lock())
    return [Download(t.name, key, url) for t in spec.tools if t.enabled for key, url in t.downloads(ctx)]


def images(spec: Spec) -> list[str]:
    """Image references the build pulls by tag that the spec does not pin by digest: the
    base image and the builder images of the enabled tools."""
    ctx = RenderContext(spec, spec.default_profile, Lock())
    refs = [] if spec.base.digest else [f"{spec.base.image}:{spec.base.tag}"]
    refs += [ref for t in spec.tools if t.enabled and (ref := t.builder_image(ctx))]
    return sorted({ref for ref in refs if "@" not in ref})


@dataclass(frozen=True, order=True)
class Resolution:
    """A tool's transitive lock to make: what its package manager resolves."""

    tool: str
    resolves: str

    def __str__(self) -> str:
        return f"{self.tool} packages"


def resolutions(spec: Spec) -> list[Resolution]:
    """The transitive lock of every enabled tool that keeps one."""
    return [Resolution(t.name, subject) for t in spec.tools if t.enabled and (subject := t.transitive_subject())]


def changed_lock_files(lock: Lock, lock_dir: Path) -> list[str]:
    """The files under locks/ that sandbox.lock lists and that are missing or differ from
    the sha256 it records (edited by hand, or left behind by an interrupted run)."""
    found = []
    for tool, package in sorted(lock.packages.items()):
        for relative, digest in sorted(package.files.items()):
            path = lock_dir / relative
            if not path.is_file():
                found.append(f"{tool} packages: {relative} is missing")
            elif _sha256(path.read_bytes()) != digest:
                found.append(f"{tool} packages: {relative} differs from the sha256 sandbox.lock records for it")
    return found


def stale_entries(spec: Spec, lock: Lock) -> list[str]:
    """Lock entries that no longer match the spec or the files under locks/ (for `sandbox check`)."""
    subjects = {r.tool: r.resolves for r in resolutions(spec)}
    found = lock.stale({(d.tool, d.key): d.url for d in downloads(spec)}, set(images(spec)), subjects)
    return found + (changed_lock_files(lock, spec.source.parent) if spec.source else [])


@dataclass
class Outcome:
    lock: Lock
    locked: list[Download | Resolution] = field(default_factory=list)
    kept: list[Download | Resolution] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def select(
    spec: Spec, tools: Iterable[str] | None = None, platforms: Iterable[str] = (), with_images: bool | None = None
) -> tuple[list[Download], list[str]]:
    """The downloads and images a `lock` run covers, after checking the names given.

    ``tools`` None means every tool; images are locked by default only then.
    """
    every_tool = tools is None
    tools, platforms = list(tools or ()), list(platforms)
    known = {t.name for t in spec.tools}
    unknown = [t for t in tools if t not in known]
    if unknown:
        raise UsageError(f"unknown tool(s): {', '.join(unknown)}; see `sandbox list --all`")
    bad = [p for p in platforms if p not in spec.platforms]
    if bad:
        raise UsageError(f"platform {bad[0]!r} is not one of the spec's: {', '.join(spec.platforms)}")
    arches = {p.split("/", 1)[1] for p in platforms}
    chosen = [d for d in downloads(spec) if (every_tool or d.tool in tools) and (not arches or d.key not in ARCHES or d.key in arches)]
    return chosen, (images(spec) if (every_tool if with_images is None else with_images) else [])


def run(
    spec: Spec,
    lock: Lock,
    lock_path: Path,
    http: Http,
    registry: Registry,
    *,
    tools: Iterable[str] | None = None,
    platforms: Iterable[str] = (),
    with_images: bool | None = None,
    refresh: bool = False,
    jobs: int = 8,
    report: Callable[[str], None] = lambda line: None,
) -> Outcome:
    """Lock what is selected, write the lock file (and the files under locks/), and raise if
    anything failed."""
    tools = None if tools is None else list(tools)
    chosen, refs = select(spec, tools, platforms, with_images)
    everything = {(d.tool, d.key): d.url for d in downloads(spec)}
    every_resolution = resolutions(spec)
    outcome = Outcome(lock.pruned(everything, set(images(spec)), {r.tool for r in every_resolution}))
    lock_dir = lock_path.parent
    _remove_files(lock, outcome.lock, lock_dir)
    upstreams = registry.upstreams
    wanted = [r for r in every_resolution if tools is None or r.tool in tools]
    changed = changed_lock_files(outcome.lock, lock_dir)
    to_resolve = []
    for resolution in wanted:
        package = outcome.lock.package(resolution.tool, resolution.resolves)
        intact = package is not None and not any(line.startswith(f"{resolution.tool} packages:") for line in changed)
        if not refresh and intact:
            outcome.kept.append(resolution)
            report(f"kept     {resolution}  {resolution.resolves}")
        else:
            to_resolve.append(resolution)
    todo = []
    for item in chosen:
        entry = lock.entry(item.tool, item.key)
        if not refresh and entry and entry.url == item.url:
            outcome.kept.append(item)
            report(f"kept     {item}  {item.url}")
        else:
            todo.append(item)
    from concurrent.futures import ThreadPoolExecutor, as_completed  # (threads: only when locking)

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        by_name = {t.name: t for t in spec.tools}
        futures: dict[Future[Any], Download | str | Resolution] = {
            pool.submit(_verified_sha256, http, by_name[item.tool], item, upstreams["npm"]): item for item in todo
        }
        futures.update({pool.submit(registry.digest, ref): ref for ref in refs})
        futures.update({pool.submit(_resolve, by_name[r.tool], upstreams): r for r in to_resolve})
        for future in as_completed(futures):
            subject = futures[future]
            if isinstance(subject, Resolution):
                _record_packages(outcome, subject, future, lock_dir, report)
            else:
                _record(outcome, subject, future, report)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        # written even when interrupted or failing: the next run resumes from here
        outcome.lock.write(lock_path)
    if outcome.failed:
        lines = "\n".join(f"  {name}: {message}" for name, message in sorted(outcome.failed))
        resolved = sum(1 for name, _ in outcome.failed if name.endswith(" packages"))
        counts = [f"{n} {what}" for n, what in ((len(outcome.failed) - resolved, "download(s)"), (resolved, "package lock(s)")) if n]
        raise UpstreamError(
            f"{' and '.join(counts)} failed; {lock_path} keeps the {len(outcome.locked)} locked now and the earlier entries:\n{lines}"
        )
    return outcome


def _verified_sha256(http: Http, tool: Any, item: Download, npm_registry: str) -> Any:
    """The download's digest, once the tool's upstream checksum file (if it has one) lists
    the same: a locked digest replaces the checksum file in the build, so a digest the
    checksum file rejects is never locked. The message names the digest of the bytes
    served and the one the checksum file lists. A download that is the npm registry's
    tarball of a package at the tool's version (pnpm's platform packages) is checked the
    same way against the integrity the registry publishes for that version.

    (A sha256 in sandbox.yaml is not compared: the lock takes precedence over it by design,
    and after `sandbox update` it is the old version's.)"""
    from generator.supply.checksums import listed_sha256

    result = http.sha256(item.url)
    version = getattr(tool, "version", None)  # (an apt tool's downloads have none)
    if isinstance(version, str):
        _check_npm_integrity(http, item.url, version, result.integrity, npm_registry)
    source = tool.checksum_file_for(item.key)
    if source is None:
        return result
    url, file_format, name = source
    text = http.get(url).body.decode("utf-8", errors="replace")
    listed = listed_sha256(text, name, file_format)
    if listed is None:
        raise UpstreamError(f"{url}: the checksum file lists no sha256 for {name}; {item.url} not locked (the build would refuse it)")
    if not _SHA256.fullmatch(listed):
        shown = escape_controls(listed[:80])
        raise UpstreamError(f"{url}: the checksum file lists {shown!r} for {name}, which is not a sha256; {item.url} not locked")
    if listed.lower() != result.sha256:
        raise UpstreamError(
            f"{item.url}: the download's sha256 is {result.sha256}, but the checksum file {url} lists "
            f"{listed.lower()} for {name}; not locked (the build would refuse it)"
        )
    return result


def _check_npm_integrity(http: Http, url: str, version: str, integrity: str, npm_registry: str) -> None:
    """When ``url`` is ``npm_registry``'s tarball of a package at ``version``: the registry's
    ``dist.integrity`` for that version must be the bytes' (as npm itself checks on install)."""
    from generator.purl import npm_tarball_package
    from generator.supply.sources import Npm

    package = npm_tarball_package(url, version, f"{npm_registry}/")
    if package is None:
        return
    registry = Npm(npm_registry, package)
    listed = registry.integrity(http, version)
    if listed is None:
        raise UpstreamError(f"{registry.url}: the registry lists no integrity for {package}@{version}; {url} not locked")
    if listed != integrity:
        shown = escape_controls(listed[:120])
        raise UpstreamError(
            f"{url}: the download's integrity is {integrity}, but the registry lists {shown} for {package}@{version}; not locked"
        )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _resolve(tool: InstallMethod, upstreams: Upstreams) -> ResolvedPackages:
    """The tool's package manager resolves its lock in an empty scratch directory."""
    with tempfile.TemporaryDirectory(prefix="sandbox-lock-") as scratch:
        return tool.resolve_transitive(upstreams, Path(scratch))


def _remove_files(old: Lock, new: Lock, lock_dir: Path) -> None:
    """Delete the files under locks/ that ``old`` listed and ``new`` no longer does (only
    those: locks/ holds nothing else that sandbox lock would touch), and emptied directories."""
    kept = {path for package in new.packages.values() for path in package.files}
    for package in old.packages.values():
        for relative in set(package.files) - kept:
            path = lock_dir / relative
            path.unlink(missing_ok=True)
            if path.parent.is_dir() and not any(path.parent.iterdir()):
                path.parent.rmdir()


def _record_packages(
    outcome: Outcome, resolution: Resolution, future: Future[ResolvedPackages], lock_dir: Path, report: Callable[[str], None]
) -> None:
    """Write the resolved lock's files under locks/TOOL/ and record them in the lock."""
    from generator.output import write_atomic

    try:
        resolved: ResolvedPackages = future.result()
    except UpstreamError as exc:
        outcome.failed.append((str(resolution), str(exc)))
        report(f"FAILED   {resolution}: {exc}")
        return
    odd = [name for name in resolved.commands if not is_command_name(name)]
    if odd:
        message = f"the package names commands that are no plain file names: {escape_controls(repr(odd[:5]))}; not locked"
        outcome.failed.append((str(resolution), message))
        report(f"FAILED   {resolution}: {message}")
        return
    directory = lock_dir / LOCKS_DIR / resolution.tool
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, data in sorted(resolved.files.items()):
        write_atomic(directory / name, data.decode("utf-8"))
        files[f"{LOCKS_DIR}/{resolution.tool}/{name}"] = _sha256(data)
    old = outcome.lock.packages.get(resolution.tool)
    new = PackageLock(resolution.resolves, resolved.commands, files)
    outcome.lock.packages[resolution.tool] = new
    if old:
        _remove_files(Lock(packages={resolution.tool: old}), Lock(packages={resolution.tool: new}), lock_dir)
    outcome.locked.append(resolution)
    report(f"locked   {resolution}  {resolution.resolves}: {', '.join(sorted(files))}")


def _record(outcome: Outcome, subject: Download | str, future: Future[Any], report: Callable[[str], None]) -> None:
    name = str(subject) if isinstance(subject, Download) else f"image {subject}"
    try:
        result = future.result()
    except UpstreamError as exc:
        outcome.failed.append((name, str(exc)))
        report(f"FAILED   {name}: {exc}")
        return
    if isinstance(subject, Download):
        outcome.lock.set(subject.tool, subject.key, LockEntry(subject.url, result.sha256))
        outcome.locked.append(subject)
        report(f"locked   {name}  sha256:{result.sha256[:16]}…  {result.size} bytes  {subject.url}")
    else:
        outcome.lock.images[subject] = result
        report(f"locked   {name}  {result}")

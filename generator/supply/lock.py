"""`sandbox lock`: fetch every download of the spec, record its sha256, and the images' digests.

What is downloaded comes from each install method's ``downloads()``; this module knows
no method by name. Entries whose URL is unchanged are kept without fetching (so an
interrupted run resumes where it stopped), every failure is collected rather than
stopping the run, and the lock file is written atomically with whatever succeeded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import UpstreamError, UsageError
from generator.lockfile import Lock, LockEntry
from generator.methods.context import RenderContext
from generator.spec import Spec
from generator.terminal import escape_controls

if TYPE_CHECKING:  # `sandbox check` imports this module: keep HTTP and threads out of its start-up
    from concurrent.futures import Future

    from generator.supply.fetch import Http
    from generator.supply.registry import Registry

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


def stale_entries(spec: Spec, lock: Lock) -> list[str]:
    """Lock entries that no longer match the spec (for `sandbox check`)."""
    return lock.stale({(d.tool, d.key): d.url for d in downloads(spec)}, set(images(spec)))


@dataclass
class Outcome:
    lock: Lock
    locked: list[Download] = field(default_factory=list)
    kept: list[Download] = field(default_factory=list)
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
    """Lock what is selected, write the lock file, and raise if anything failed."""
    chosen, refs = select(spec, tools, platforms, with_images)
    everything = {(d.tool, d.key): d.url for d in downloads(spec)}
    outcome = Outcome(lock.pruned(everything, set(images(spec))))
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
        futures: dict[Future[Any], Download | str] = {pool.submit(_verified_sha256, http, by_name[item.tool], item): item for item in todo}
        futures.update({pool.submit(registry.digest, ref): ref for ref in refs})
        for future in as_completed(futures):
            _record(outcome, futures[future], future, report)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        # written even when interrupted or failing: the next run resumes from here
        outcome.lock.write(lock_path)
    if outcome.failed:
        lines = "\n".join(f"  {name}: {message}" for name, message in sorted(outcome.failed))
        raise UpstreamError(
            f"{len(outcome.failed)} download(s) failed; {lock_path} keeps the {len(outcome.locked)} locked now "
            f"and the earlier entries:\n{lines}"
        )
    return outcome


def _verified_sha256(http: Http, tool: Any, item: Download) -> Any:
    """The download's digest, once the tool's upstream checksum file (if it has one) lists
    the same: a locked digest replaces the checksum file in the build, so a digest the
    checksum file rejects is never locked. The message names the digest of the bytes
    served and the one the checksum file lists.

    (A sha256 in sandbox.yaml is not compared: the lock takes precedence over it by design,
    and after `sandbox update` it is the old version's.)"""
    from generator.supply.checksums import listed_sha256

    result = http.sha256(item.url)
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


def _record(outcome: Outcome, subject: Download | str, future, report: Callable[[str], None]) -> None:
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

"""`sandbox outdated`: for each versioned tool (and the base image), the newest release upstream."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial

from generator.errors import RateLimitError, UpstreamError, UsageError
from generator.spec import Spec
from generator.supply.fetch import Http
from generator.supply.registry import Registry
from generator.supply.sources import RegistryTags, Source, source_for
from generator.supply.upstreams import Upstreams
from generator.supply.versions import Choice, choose, key

BASE = "base"


@dataclass(frozen=True)
class Row:
    tool: str
    current: str
    source: str
    #: the newest stable release, whatever its age
    newest: Choice | None = None
    #: what an update would move to (newest at least --min-age old)
    eligible: Choice | None = None
    error: str | None = None

    @property
    def update(self) -> str | None:
        """The version to move to, only ever forward."""
        if not self.eligible or self.eligible.version == self.current:
            return None
        try:
            ahead = _number(self.eligible.version) > _number(self.current)
        except ValueError:
            return None
        return self.eligible.version if ahead else None

    def age(self, now: datetime) -> str:
        published = self.newest.release.published if self.newest else None
        return format_age(now - published) if published else "-"


def _number(version: str) -> tuple[int, ...]:
    digits = version.lstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_")
    return key(digits)


def format_age(delta: timedelta) -> str:
    days = delta.days
    if days >= 365:
        return f"{days // 365}y{(days % 365) // 30}mo"
    if days >= 1:
        return f"{days}d"
    return f"{max(0, int(delta.total_seconds() // 3600))}h"


def _targets(spec: Spec, upstreams: Upstreams, registry: Registry, tools: list[str]) -> list[tuple[str, str, Source | None]]:
    names = {t.name for t in spec.tools}
    unknown = [t for t in tools if t not in names and t != BASE]
    if unknown:
        raise UsageError(f"unknown tool(s): {', '.join(unknown)}; see `sandbox list --all` ({BASE!r} is the base image)")
    targets: list[tuple[str, str, Source | None]] = []
    if not tools or BASE in tools:
        targets.append((BASE, spec.base.tag, RegistryTags(registry, f"{spec.base.image}:{spec.base.tag}")))
    for tool in spec.tools:
        version = getattr(tool, "version", None)
        if not tool.enabled or not version or (tools and tool.name not in tools):
            continue
        targets.append((tool.name, version, source_for(tool, upstreams)))
    return targets


def check(
    spec: Spec,
    upstreams: Upstreams,
    http: Http,
    registry: Registry,
    *,
    tools: Iterable[str] = (),
    min_age: timedelta = timedelta(0),
    jobs: int = 8,
    now: datetime | None = None,
) -> list[Row]:
    """One row per versioned tool, in spec order. A rate limit stops everything (asking
    again only makes it worse); any other failure is kept in its row."""
    now = now or datetime.now(timezone.utc)
    targets = _targets(spec, upstreams, registry, list(tools))

    def one(target: tuple[str, str, Source | None]) -> Row:
        name, current, source = target
        if source is None:
            return Row(name, current, "-", error="no known upstream to ask (not a GitHub release or registry package)")
        try:
            releases = source.releases(http)
            date_of = partial(source.published, http) if hasattr(source, "published") else None
            newest = choose(current, releases, now=now, date_of=date_of)
            eligible = choose(current, releases, min_age=min_age, now=now, date_of=date_of) if min_age else newest
        except RateLimitError:
            raise
        except UpstreamError as exc:
            return Row(name, current, source.label, error=str(exc))
        if newest is None:
            return Row(name, current, source.label, error=f"no stable release comparable with {current!r} upstream")
        return Row(name, current, source.label, newest, eligible)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, targets))

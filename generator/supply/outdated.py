"""`sandbox outdated`: for each tool its method tracks (``tracked()``) and the base image,
the newest release upstream; for a tool pinned to a commit (disabled ones too), the head
commit of its branch."""

from __future__ import annotations

import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial

from generator.errors import RateLimitError, UpstreamError, UsageError
from generator.methods.data import Tracked
from generator.spec import Spec
from generator.supply.fetch import Http
from generator.supply.registry import Registry
from generator.supply.sources import GitHubCommits, RegistryTags, Source, shaped, source_for, why_not_asked
from generator.supply.upstreams import Upstreams
from generator.supply.versions import Choice, Release, choose, key

BASE = "base"


@dataclass(frozen=True)
class Row:
    tool: str
    #: the spec's version (or tag); for a git tool its full commit id, or UNPINNED
    current: str
    source: str
    #: the newest stable release, whatever its age (a git tool: the head of its branch)
    newest: Choice | None = None
    #: what an update would move to (newest at least --min-age old)
    eligible: Choice | None = None
    error: str | None = None
    #: the spec key an update rewrites: version, the base image's tag, or a git tool's commit
    field: str = "version"
    #: git tools: whether ``eligible`` is a descendant of the pinned commit (None: not asked)
    ahead: bool | None = None
    #: git tools: the new value of a date-shaped ``version:`` label kept in step with the commit
    label: str | None = None
    #: git tools: the spec's ``version:`` label now, to tell whether it changes
    current_label: str | None = None
    #: what the row's outcome needs explained (git tools; release rows derive theirs)
    note: str = ""

    @property
    def update(self) -> str | None:
        """The version (or commit) to move to, only ever forward."""
        if not self.eligible or self.eligible.version == self.current:
            return None
        if self.field == "commit":
            return self.eligible.version if self.ahead else None
        try:
            ahead = _number(self.eligible.version) > _number(self.current)
        except ValueError:
            return None
        return self.eligible.version if ahead else None

    def changes(self) -> dict[str, str]:
        """What `update` writes into the tool's entry: spec key -> new value."""
        value = self.update
        if value is None:
            return {}
        changes = {self.field: value}
        if self.label and self.label != self.current_label:
            changes["version"] = self.label
        return changes

    def age(self, now: datetime) -> str:
        published = self.newest.release.published if self.newest else None
        return format_age(now - published) if published else "-"


UNPINNED = "unpinned"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def short(value: str | None) -> str | None:
    """A commit id as people read it (12 hex digits); anything else unchanged."""
    if value and len(value) == 40 and all(c in "0123456789abcdef" for c in value):
        return value[:12]
    return value


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


@dataclass(frozen=True)
class Target:
    """One row to fill: the tool (or the base image), what it pins, and where to ask."""

    name: str
    current: str
    source: Source | None
    #: None for the base image
    tracked: Tracked | None = None
    enabled: bool = True


def _targets(spec: Spec, upstreams: Upstreams, registry: Registry, tools: list[str]) -> list[Target]:
    names = {t.name for t in spec.tools}
    unknown = [t for t in tools if t not in names and t != BASE]
    if unknown:
        raise UsageError(f"unknown tool(s): {', '.join(unknown)}; see `sandbox list --all` ({BASE!r} is the base image)")
    targets: list[Target] = []
    if not tools or BASE in tools:
        targets.append(Target(BASE, spec.base.tag, RegistryTags(registry, f"{spec.base.image}:{spec.base.tag}")))
    for tool in spec.tools:
        if tools and tool.name not in tools:
            continue
        tracked = tool.tracked()
        if tracked is None:
            continue
        source = source_for(tracked.upstream, upstreams)
        targets.append(Target(tool.name, tracked.current or UNPINNED, source, tracked, tool.enabled))
    return targets


def _commit_row(target: Target, tracked: Tracked, source: GitHubCommits, http: Http, min_age: timedelta, now: datetime) -> Row:
    """The head of the tool's branch, and the newest commit on it at least ``min_age`` old."""
    name, current = target.name, target.current
    branch = source.resolve_branch(http)
    head = source.head(http, branch)
    newest = Choice(head.name, head)
    eligible: Choice | None = newest
    notes = []
    if min_age and (head.published is None or now - head.published < min_age):
        older = source.newest_until(http, branch, now - min_age)
        if older is not None and older.published is not None and now - older.published >= min_age:
            eligible = Choice(older.name, older)
            if older.name != current:
                notes.append(f"head of {branch} is younger than --min-age; would pin {short(older.name)}")
            else:
                notes.append(f"head of {branch} is younger than --min-age; the pinned commit is the newest old enough")
        else:
            eligible = None
            notes.append(f"no commit on {branch} is older than --min-age")
    ahead = None
    if eligible is not None and eligible.version != current:
        if not tracked.current:
            ahead = True
        else:
            relation = source.relation(http, tracked.current, eligible.version)
            ahead = relation == "ahead"
            if relation == "behind":
                notes.append(f"the pinned commit is newer than {short(eligible.version)} on {branch}; not moved back")
            elif relation == "diverged":
                notes.append(f"the pinned commit is not on {branch} (diverged); pin it by hand")
    label = None
    if ahead and eligible is not None and tracked.label:  # (ahead is only set with an eligible commit)
        label, why = _label(tracked.label, eligible.release)
        if why:
            notes.append(why)
    if ahead and not target.enabled:
        notes.append("disabled: update pins the commit but does not enable the tool; a maintainer does")
    return Row(
        name, current, source.label, newest, eligible,
        field=tracked.field, ahead=ahead, label=label, current_label=tracked.label, note="; ".join(notes),
    )  # fmt: skip


def _label(version: str, commit: Release) -> tuple[str | None, str]:
    """A date-shaped ``version:`` follows the commit's date (UTC); any other label is the
    maintainer's words about the old commit, so it is left alone and flagged."""
    if not _DATE.fullmatch(version):
        return None, f"version {version!r} is left as it is; check that it still describes the new commit"
    if commit.published is None:
        return None, f"version {version!r} is left as it is: upstream gave no commit date"
    return f"{commit.published.astimezone(timezone.utc):%Y-%m-%d}", ""


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

    def one(target: Target) -> Row:
        name, current, source = target.name, target.current, target.source
        field = target.tracked.field if target.tracked else "tag"
        if source is None:
            upstream = target.tracked.upstream if target.tracked else None
            return Row(name, current, "-", error=why_not_asked(upstream), field=field)
        try:
            if isinstance(source, GitHubCommits):
                assert target.tracked is not None  # only the base image has no tracked pin, and it is asked by RegistryTags
                return _commit_row(target, target.tracked, source, http, min_age, now)
            releases = shaped(source.releases(http))
            date_of = partial(source.published, http) if hasattr(source, "published") else None
            newest = choose(current, releases, now=now, date_of=date_of)
            eligible = choose(current, releases, min_age=min_age, now=now, date_of=date_of) if min_age else newest
        except RateLimitError:
            raise
        except UpstreamError as exc:
            return Row(name, current, source.label, error=str(exc))
        if newest is None:
            return Row(name, current, source.label, error=f"no stable release comparable with {current!r} upstream")
        return Row(name, current, source.label, newest, eligible, field=field)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, targets))

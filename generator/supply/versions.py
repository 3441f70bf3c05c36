"""Comparing upstream version strings with the spec's, and choosing the newest eligible one.

Upstreams spell versions differently from the spec (tag ``v1.2.3`` or ``jq-1.8.2``
for spec ``1.2.3``, ``go1.22.1``): the prefix is learned from the current version, and
only releases with the same prefix and a plain numeric remainder are stable candidates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

#: a version number: ASCII digits only (\d would take any script's, which no spec accepts), at
#: most 30 to a part (int() refuses thousands of digits; no version has more than a date's)
_PART = r"[0-9]{1,30}"
_NUMERIC = re.compile(rf"{_PART}(\.{_PART})*")
_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class Release:
    #: as the upstream spells it (a tag, a registry version)
    name: str
    published: datetime | None = None
    #: where a human reads about it (release page, changelog)
    url: str | None = None


@dataclass(frozen=True)
class Choice:
    """The newest release the spec could move to, in the spec's spelling."""

    version: str
    release: Release


def key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def is_stable(version: str) -> bool:
    return bool(_NUMERIC.fullmatch(version))


def parse_age(text: str) -> timedelta:
    match = _DURATION.fullmatch(text.strip())
    if text.strip() == "0":
        return timedelta(0)
    if not match:
        raise ValueError(f"{text!r} is not an age such as 7d, 12h or 2w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


_SPLIT = re.compile(rf"([^0-9]*?)({_PART}(?:\.{_PART})*)")


def _split(name: str) -> tuple[str, str] | None:
    match = _SPLIT.fullmatch(name)
    return (match.group(1), match.group(2)) if match else None


def choose(
    current: str,
    releases: Iterable[Release],
    *,
    min_age: timedelta = timedelta(0),
    now: datetime | None = None,
    date_of: Callable[[Release], datetime | None] | None = None,
) -> Choice | None:
    """The newest stable release at least ``min_age`` old, spelled like ``current``.

    Upstream's prefix is the one on the release matching ``current`` (else the most
    common one); the spec's own prefix (``v`` in ``v3.7.0``) is kept. A partial version
    (``3.12`` for mise) stays partial: candidates are cut to as many parts as ``current``.
    None when the upstream lists nothing comparable.
    """
    mine = _split(current)
    if mine is None:
        return None
    lead, number = mine
    split = [(parts, release) for release in releases if (parts := _split(release.name))]
    prefixes = [p for (p, n), _ in split if n == number] or [p for (p, _), _ in split]
    if not prefixes:
        return None
    prefix = max(sorted(set(prefixes)), key=prefixes.count)
    depth = len(number.split("."))
    candidates = sorted(
        ((key(n), ".".join(n.split(".")[:depth]), r) for (p, n), r in split if p == prefix),
        key=lambda c: c[0],
        reverse=True,
    )
    now = now or datetime.now(timezone.utc)
    for _key, cut, release in candidates:
        if release.published is None and date_of:
            release = Release(release.name, date_of(release), release.url)
        if min_age and (release.published is None or now - release.published < min_age):
            continue
        return Choice(lead + cut, release)
    return None

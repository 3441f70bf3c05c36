"""SOURCE_DATE_EPOCH, read one way for every command that stamps a time (sbom, build).

https://reproducible-builds.org/specs/source-date-epoch/: an ASCII decimal, non-negative
integer of seconds since 1970-01-01 UTC. Anything else is a usage error rather than a guess
(int() alone would take "-5", " 7", "1_000" and non-ASCII digits; a huge value overflows).
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone

from generator.errors import UsageError

#: 9999-12-31T23:59:59Z: the last second an RFC 3339 timestamp (four-digit year) can show
MAX_EPOCH = 253402300799


def source_date_epoch() -> datetime | None:
    """The moment SOURCE_DATE_EPOCH names, or None when it is unset or empty."""
    text = os.environ.get("SOURCE_DATE_EPOCH", "")
    if not text:
        return None
    if not re.fullmatch(r"[0-9]{1,12}", text) or int(text) > MAX_EPOCH:
        raise UsageError(
            f"SOURCE_DATE_EPOCH: expected whole seconds since 1970-01-01 UTC, from 0 to {MAX_EPOCH} "
            f"(the end of year 9999); got {text[:40]!r}"
        )
    return datetime.fromtimestamp(int(text), tz=timezone.utc)

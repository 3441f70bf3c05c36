"""How many examples a property test tries.

The count written in a test is the thorough one, which CI runs (.ci/run sets
SANDBOX_HYPOTHESIS=thorough). Any other run, a developer's `scripts/test`, tries a fifth of
it (at least 10), so that the suite stays quick."""

from __future__ import annotations

import os

THOROUGH = os.environ.get("SANDBOX_HYPOTHESIS") == "thorough"


def examples(count: int) -> int:
    return count if THOROUGH else max(10, count // 5)

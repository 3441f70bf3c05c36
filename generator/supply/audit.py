"""`sandbox audit`: everything the build fetches that is not pinned by a digest or
version, or not verified, each with the reason the spec gives for it. Disabled tools that
would fetch something unpinned (a git tool without a commit) are listed too, and so are
digests that `sandbox lock` took on first use: pinned, but checked against nothing
independent (they fail --strict only under `policy: {independent_verification: required}`).

What a tool's downloads and verification mean is each install method's ``audit()``; this
module adds what belongs to the spec as a whole: the base packages and the images."""

from __future__ import annotations

import dataclasses

from generator.lockfile import Lock
from generator.methods.base import RUN_LOCK
from generator.methods.context import RenderContext
from generator.methods.data import FIRST_USE_KIND, Finding
from generator.methods.distribution import base_package_findings
from generator.spec import Spec
from generator.supply.lock import downloads, images

__all__ = ["Finding", "audit"]


def audit(spec: Spec, lock: Lock) -> list[Finding]:
    ctx = RenderContext(spec, spec.default_profile, lock)
    unlocked: dict[str, list[str]] = {}
    for item in downloads(spec):
        if not lock.sha256(item.tool, item.key, item.url):
            unlocked.setdefault(item.tool, []).append(item.key)
    found: list[Finding] = []
    for tool in spec.tools:
        found += tool.audit(ctx, unlocked.get(tool.name, []))
    found += base_package_findings(ctx)
    for reference in images(spec):
        if reference not in lock.images:
            found.append(Finding(f"image {reference}", "no-digest", f"pulled by tag: no digest in sandbox.lock; {RUN_LOCK}"))
    if spec.policy.independent_verification == "optional":
        found = [dataclasses.replace(f, fails_strict=False) if f.kind == FIRST_USE_KIND else f for f in found]
    return found

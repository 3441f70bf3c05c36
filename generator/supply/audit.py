"""`sandbox audit`: everything the build fetches that is not pinned by a digest or
version, or not verified, each with the reason the spec gives for it. Disabled tools that
would fetch something unpinned (a git tool without a commit) are listed too."""

from __future__ import annotations

from dataclasses import dataclass

from generator.lockfile import Lock
from generator.methods.context import RenderContext
from generator.spec import Spec
from generator.supply.lock import ARCHES, downloads, images


@dataclass(frozen=True, order=True)
class Finding:
    subject: str
    kind: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"subject": self.subject, "kind": self.kind, "reason": self.reason}


_RUN_LOCK = "run `sandbox lock` where upstream is reachable"


def audit(spec: Spec, lock: Lock) -> list[Finding]:
    ctx = RenderContext(spec, spec.default_profile, lock)
    found: list[Finding] = []
    missing: dict[str, list[str]] = {}
    for item in downloads(spec):
        if not lock.sha256(item.tool, item.key, item.url):
            missing.setdefault(item.tool, []).append(item.key)
    for tool in spec.tools:
        verification = tool.verification(ctx)
        if not tool.enabled:
            # listed, so that switching it on is never how something unpinned slips in
            if verification.kind == "unverified":
                reason = f"disabled: {tool.disabled_reason}; if enabled: {verification.detail}"
                found.append(Finding(tool.name, "disabled-unpinned", reason))
            continue
        absent = missing.get(tool.name, [])
        lock_note = f"no digest in sandbox.lock for {', '.join(absent)}" if absent else ""
        if tool.method == "script":
            detail = "runs the upstream installer script"
            if verification.kind == "unverified":
                detail += f"; UNVERIFIED: {verification.detail}"
            found.append(Finding(tool.name, "script", "; ".join(filter(None, [detail, lock_note]))))
        elif verification.kind == "checksum-file":
            reason = "checksum file fetched at build time from the artifact's own host"
            found.append(Finding(tool.name, "checksum-file", "; ".join(filter(None, [reason, lock_note]))))
        elif verification.kind == "unverified":
            found.append(Finding(tool.name, "unverified", "; ".join(filter(None, [verification.detail, lock_note]))))
        elif absent and not _spec_pins(tool, absent):
            repo = getattr(tool, "repo", None)
            if repo is not None and repo.key_unverified:
                found.append(Finding(tool.name, "unverified-key", f"apt repository key: {repo.key_unverified}; {lock_note}"))
            else:
                found.append(Finding(tool.name, "no-lock-entry", f"{lock_note}; {_RUN_LOCK}"))
        mise_partial = tool.method == "mise" and len(str(tool.version).split(".")) < 3
        if mise_partial:
            found.append(Finding(tool.name, "unpinned", f"mise resolves {tool.version!r} to a release at build time"))
        if spec.policy.apt_pins == "required" and tool.method == "apt" and tool.unpinned_packages:
            packages = ", ".join(tool.unpinned_packages)
            found.append(Finding(tool.name, "unpinned-apt", f"{packages}: {tool.unpinned_reason}"))
    if spec.policy.apt_pins == "required":
        unpinned = [p for p in spec.base.packages if "=" not in p]
        if unpinned:
            reason = spec.base.unpinned_reason or "no reason given"
            found.append(Finding("base packages", "unpinned-apt", f"{', '.join(unpinned)}: {reason}"))
    for reference in images(spec):
        if reference not in lock.images:
            found.append(Finding(f"image {reference}", "no-digest", f"pulled by tag: no digest in sandbox.lock; {_RUN_LOCK}"))
    return found


def _spec_pins(tool, keys: list[str]) -> bool:
    """Whether sandbox.yaml itself carries digests for these downloads."""
    digests = getattr(tool, "sha256", None)
    repo = getattr(tool, "repo", None)
    for key in keys:
        if key in ARCHES:
            pinned = isinstance(digests, dict) and key in digests
        elif key == "key":
            pinned = bool(repo and repo.key_sha256)
        else:
            pinned = isinstance(digests, str)
        if not pinned:
            return False
    return True

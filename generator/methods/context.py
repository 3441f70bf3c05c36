"""What an install method may ask about the build it is part of.

This module sits below the methods: they import it, and so does the renderer that builds
one. It imports no method and not the renderer, so the methods depend on it without a cycle.
The spec is named here only as a type: a Spec holds the tools, so the tools' context can only
refer back to it, never import it (spec.py imports the methods to build its tool union).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from generator.lockfile import Lock, PackageLock
from generator.methods.data import CacheMount

if TYPE_CHECKING:
    from generator.spec import Spec


@dataclass
class RenderContext:
    """The spec, the profile being rendered and the lock, with the questions methods ask of them."""

    spec: Spec
    profile: str
    lock: Lock = field(default_factory=Lock)

    @property
    def home(self) -> str:
        return self.spec.user.home_dir

    def cache_mount(self, target: str) -> CacheMount:
        """A cache mount at ``target`` that the user owns."""
        return CacheMount(target, self.spec.user.uid, self.spec.user.gid)

    @property
    def arches(self) -> list[str]:
        return self.spec.arches

    def expand_home(self, path: str) -> str:
        return self.spec.user.in_home(path)

    def pinned_image(self, reference: str) -> str:
        """image:tag with the digest sandbox.lock holds for it, unless the spec pins one."""
        digest = None if "@" in reference else self.lock.images.get(reference)
        return f"{reference}@{digest}" if digest else reference

    def locked_sha256(self, tool: str, key: str, url: str) -> str | None:
        return self.lock.sha256(tool, key, url)

    def package_lock(self, tool: str, resolves: str | None) -> PackageLock | None:
        """The tool's transitive lock in sandbox.lock, while it resolves ``resolves``."""
        return self.lock.package(tool, resolves) if resolves else None

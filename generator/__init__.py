"""opencode sandbox generator: sandbox.yaml -> validated spec -> Dockerfile.

Python API::

    from generator import load_spec, render
    from generator.lockfile import Lock
    spec = load_spec("sandbox.yaml")
    text = render(spec, None, Lock.beside(spec.source))

``DOCKERFILE``, ``IMAGE_NAME_DOCKERHUB``, ``IMAGE_NAME_GHCR`` and ``IMAGE_TAG_DEFAULT``
come from the default spec shipped with the package; they are read on first use.
"""

from __future__ import annotations

import functools
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import ExitCode, Problem, SandboxError, SpecError

if TYPE_CHECKING:
    from generator.loader import load_spec
    from generator.render import render
    from generator.spec import Spec

__all__ = [
    "DOCKERFILE",
    "IMAGE_NAME_DOCKERHUB",
    "IMAGE_NAME_GHCR",
    "IMAGE_TAG_DEFAULT",
    "ExitCode",
    "Problem",
    "SandboxError",
    "SpecError",
    "default_spec_path",
    "load_spec",
    "render",
]

_PACKAGED = Path(__file__).parent / "default"
_CHECKOUT = Path(__file__).parent.parent


def default_spec_path() -> Path:
    """sandbox.yaml shipped in the wheel, or the one at the root of a checkout."""
    packaged = _PACKAGED / "sandbox.yaml"
    return packaged if packaged.exists() else _CHECKOUT / "sandbox.yaml"


@functools.cache
def _default_spec() -> Spec:
    from generator.loader import load_spec

    return load_spec(default_spec_path())


class _Package(types.ModuleType):
    """Importing the submodule generator.render makes Python set the attribute `render`
    to that module; the public `generator.render` is the function, as when it was
    imported eagerly. Needed by the lazy attributes below: importing load_spec and render
    up front would add ~170 ms to every run the result cache answers in ~60 ms
    (bench/generator_speed.py, "What a cache hit imports")."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "render" and isinstance(value, types.ModuleType):
            value = value.render
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    # load_spec and render on first use: importing them builds every pydantic model, and
    # a `sandbox check` answered from generator.cache must not pay for that
    if name == "load_spec":
        from generator.loader import load_spec

        return load_spec
    if name == "render":
        from generator.render import render

        return render
    if name == "DOCKERFILE":
        from generator.lockfile import Lock
        from generator.render import render

        return render(_default_spec(), None, Lock.beside(default_spec_path()))
    if name == "IMAGE_NAME_DOCKERHUB":
        return _default_spec().image.name
    if name == "IMAGE_NAME_GHCR":
        mirrors = [m for m in _default_spec().image.mirrors if m.startswith("ghcr.io/")]
        return mirrors[0] if mirrors else None
    if name == "IMAGE_TAG_DEFAULT":
        return _default_spec().image.tag
    raise AttributeError(f"module 'generator' has no attribute {name!r}")

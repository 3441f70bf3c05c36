"""The build context: a fresh directory holding the Dockerfile and only the files it COPYs:
the spec's files and the SBOM the generator wrote for the image.

Building from the spec's directory would send whatever lies there (a .git, a venv, secrets)
to the engine and let unrelated edits bust the cache; a context assembled per build sends
exactly what the spec names.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from generator.errors import UsageError
from generator.paths import SBOM_CONTEXT_PATH as SBOM_SOURCE
from generator.spec import Spec

DOCKERFILE = "Dockerfile"


def dockerignore(sources: list[str]) -> str:
    """Exclude everything but the listed files (the Dockerfile travels separately)."""
    lines = [
        "# Written by `sandbox build`: this context holds only what the Dockerfile COPYs.",
        "**",
    ]
    lines += [f"!{source}" for source in sources]
    return "\n".join(lines) + "\n"


def sources(spec: Spec, spec_dir: Path) -> list[tuple[str, Path]]:
    """(path in the context, file on disk) for each ``files:`` entry. ``src`` is relative to
    the spec's directory, as COPY sees it relative to the context; it must exist and stay inside."""
    found: list[tuple[str, Path]] = []
    problems: list[str] = []
    root = spec_dir.resolve()
    for index, entry in enumerate(spec.files):
        path = (root / entry.src).resolve()
        if not path.is_relative_to(root):
            problems.append(f"files[{index}].src: {entry.src} is outside the spec's directory {root}")
        elif entry.src == SBOM_SOURCE:
            problems.append(f"files[{index}].src: {entry.src} is where the build puts the image's SBOM; rename the file")
        elif not path.is_file():
            problems.append(f"files[{index}].src: {root / entry.src} does not exist (or is not a file)")
        found.append((entry.src, path))
    if problems:
        where = str(spec.source) if spec.source else "the spec"
        raise UsageError(f"{where}: " + "; ".join(problems))
    return found


def write_context(directory: Path, spec: Spec, dockerfile_text: str, spec_dir: Path, sbom: str) -> list[str]:
    """Fill ``directory`` with the build context (``sbom``: the CycloneDX text the image
    carries); returns the paths it holds (sorted)."""
    entries = sources(spec, spec_dir)
    (directory / DOCKERFILE).write_text(dockerfile_text, encoding="utf-8")
    (directory / SBOM_SOURCE).parent.mkdir(parents=True, exist_ok=True)
    (directory / SBOM_SOURCE).write_text(sbom, encoding="utf-8")
    for relative, path in entries:
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    names = sorted({relative for relative, _ in entries} | {SBOM_SOURCE})
    (directory / ".dockerignore").write_text(dockerignore(names), encoding="utf-8")
    return sorted([DOCKERFILE, ".dockerignore", *names])


@contextmanager
def build_context(spec: Spec, dockerfile_text: str, spec_dir: Path, sbom: str) -> Iterator[Path]:
    """A temporary context directory, removed afterwards whatever happens."""
    with tempfile.TemporaryDirectory(prefix="sandbox-build-") as name:
        directory = Path(name)
        write_context(directory, spec, dockerfile_text, spec_dir, sbom)
        yield directory

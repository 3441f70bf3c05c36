"""The build context: a fresh directory holding the Dockerfile and only the files it COPYs:
the spec's files, the transitive locks under locks/ and the SBOM the generator wrote for the image.

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
from generator.lockfile import Lock
from generator.paths import LOCK_NAME, SBOM_CONTEXT_PATH as SBOM_SOURCE, generator_script, script_in_context
from generator.spec import Spec
from generator.supply.lock import changed_lock_files, resolutions

DOCKERFILE_NAME = "Dockerfile"


def dockerignore(sources: list[str]) -> str:
    """Exclude everything but the listed files (the Dockerfile travels separately)."""
    lines = [
        "# Written by `sandbox build`: this context holds only what the Dockerfile COPYs.",
        "**",
    ]
    lines += [f"!{source}" for source in sources]
    return "\n".join(lines) + "\n"


def generator_scripts(spec: Spec) -> list[tuple[str, Path]]:
    """(path in the context, file on disk) for each script of the generator that a stage of
    the spec runs (the base stage COPYs it from files/ in the context): those of every
    enabled tool, whichever profile is built, so an unused one may travel along."""
    names = dict.fromkeys(name for tool in spec.tools if tool.enabled for name in tool.base_scripts_needed())
    return [(script_in_context(name), generator_script(name)) for name in names]


def locked_package_files(spec: Spec, spec_dir: Path) -> list[tuple[str, Path]]:
    """(path in the context, file on disk) for each file of the transitive locks the
    Dockerfile installs from (those still resolving what the spec asks for), once each
    matches the sha256 sandbox.lock records: a lock file edited by hand is refused."""
    lock = Lock.read(spec_dir / LOCK_NAME)
    used = {r.tool for r in resolutions(spec) if lock.package(r.tool, r.resolves)}
    in_use = Lock(packages={tool: p for tool, p in lock.packages.items() if tool in used})
    changed = changed_lock_files(in_use, spec_dir)
    if changed:
        raise UsageError(f"{spec_dir / LOCK_NAME}: " + "; ".join(changed) + "; run `sandbox lock` again")
    return [(relative, spec_dir / relative) for package in in_use.packages.values() for relative in sorted(package.files)]


def sources(spec: Spec, spec_dir: Path) -> list[tuple[str, Path]]:
    """(path in the context, file on disk) for each ``files:`` entry and each generator
    script. ``src`` is relative to the spec's directory, as COPY sees it relative to the
    context; it must exist, stay inside, and not take a generator script's place."""
    scripts = generator_scripts(spec)
    found: list[tuple[str, Path]] = [*scripts, *locked_package_files(spec, spec_dir)]
    problems: list[str] = []
    root = spec_dir.resolve()
    for index, entry in enumerate(spec.files):
        path = (root / entry.src).resolve()
        if entry.src in dict(scripts):
            problems.append(f"files[{index}].src: {entry.src} is where the generator puts its own script; use another name")
        elif not path.is_relative_to(root):
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
    (directory / DOCKERFILE_NAME).write_text(dockerfile_text, encoding="utf-8")
    (directory / SBOM_SOURCE).parent.mkdir(parents=True, exist_ok=True)
    (directory / SBOM_SOURCE).write_text(sbom, encoding="utf-8")
    for relative, path in entries:
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    names = sorted({relative for relative, _ in entries} | {SBOM_SOURCE})
    (directory / ".dockerignore").write_text(dockerignore(names), encoding="utf-8")
    return sorted([DOCKERFILE_NAME, ".dockerignore", *names])


@contextmanager
def build_context_directory(spec: Spec, dockerfile_text: str, spec_dir: Path, sbom: str) -> Iterator[Path]:
    """A temporary context directory, removed afterwards whatever happens."""
    with tempfile.TemporaryDirectory(prefix="sandbox-build-") as name:
        directory = Path(name)
        write_context(directory, spec, dockerfile_text, spec_dir, sbom)
        yield directory

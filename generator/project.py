"""One spec and the files generated from it: the unit generate, check and lint work on."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from generator.errors import SpecError, UsageError
from generator.loader import locate_issues, parse_file, read_spec
from generator.lockfile import Lock
from generator.output import DOCKERFILE, RUN_FILE, Shape, Target, check_targets, resolve, write_atomic
from generator.paths import LOCK_NAME
from generator.render import render
from generator.runfiles import run_file_names, run_files
from generator.spec import Spec


@dataclass(frozen=True)
class Output:
    #: the profile whose image it builds or runs
    profile: str
    #: where the profile's output is, as the commands show it (the spec's directory joined
    #: with the profile's output)
    path: Path
    text: str
    #: the file to write, symlinks resolved: set once the path rule has passed (:meth:`Project.checked`)
    target: Path | None = None
    #: a run file (runtime.compose: the Compose file and the gate's), not a profile's Dockerfile
    run_file: bool = False
    #: hadolint checks it: a profile's Dockerfile, or the gate's
    dockerfile: bool = True

    @property
    def what(self) -> str:
        """What it is, as the commands say it: (profile full) or (run file of profile full)."""
        return f"run file of profile {self.profile}" if self.run_file else f"profile {self.profile}"


def protected_paths(spec_path: Path) -> dict[Path, str]:
    """The inputs of a project no command may write over, resolved, with their names."""
    return {
        resolve(spec_path): f"the spec itself ({spec_path.name})",
        resolve(spec_path.parent / LOCK_NAME): f"the lock file ({LOCK_NAME})",
    }


@dataclass
class Project:
    #: read from a file: its path is ``spec.source`` (held there only)
    spec: Spec
    lock: Lock
    #: the spec's text as loaded (problems found later are located in it)
    text: str = ""

    @classmethod
    def load(cls, spec_path: Path) -> Project:
        text = read_spec(spec_path)
        return cls(parse_file(text, spec_path), Lock.beside(spec_path), text)

    @property
    def spec_path(self) -> Path:
        """The file the spec was read from (parse_file records it on the spec)."""
        if self.spec.source is None:
            raise ValueError("a Project's spec is read from a file (Project.load)")
        return self.spec.source

    def profiles(self, selected: tuple[str, ...] = ()) -> list[str]:
        unknown = [p for p in selected if p not in self.spec.profiles]
        if unknown:
            raise UsageError(f"unknown profile {unknown[0]!r}; {self.spec_path} declares: {', '.join(self.spec.profiles)}")
        return list(selected) or list(self.spec.profiles)

    def output_path(self, profile: str) -> Path:
        return self.spec_path.parent / self.spec.profiles[profile].output

    def outputs(self, selected: tuple[str, ...] = ()) -> list[Output]:
        """The Dockerfile of each selected profile (all by default), then, when every profile
        is selected, the run files (runtime.compose)."""
        dockerfiles = [
            Output(profile, self.output_path(profile), render(self.spec, profile, self.lock)) for profile in self.profiles(selected)
        ]
        return dockerfiles + (self.run_outputs() if not selected else [])

    def run_outputs(self) -> list[Output]:
        """The Compose file and the gate's files, beside it; none without runtime.compose."""
        compose = self.spec.runtime.compose
        if compose is None:
            return []
        profile = self.spec.default_profile
        files = run_files(self.spec, self.lock)
        paths = self.run_paths()
        return [Output(profile, path, f.text, run_file=True, dockerfile=f.dockerfile) for path, f in zip(paths, files, strict=True)]

    def checked(self, outputs: list[Output]) -> list[Output]:
        """``outputs`` with the file each may write, once every profile's output passed the
        path rule (:func:`generator.output.check_targets`); SpecError with every problem,
        placed at its profile's ``output``, otherwise. All profiles are checked, not only
        the selected ones, so two profiles can never name one file."""
        protected = protected_paths(self.spec_path)
        for index, copy in enumerate(self.spec.files):
            protected.setdefault(resolve(self.spec_path.parent / copy.src), f"the source of files[{index}] ({copy.src})")
        profile_of = {f"profiles.{name}.output": name for name in self.spec.profiles}
        targets = [Target(field, self.spec.profiles[name].output, self.output_path(name), DOCKERFILE) for field, name in profile_of.items()]
        for path in self.run_paths():
            written = path.relative_to(self.spec_path.parent).as_posix()
            targets.append(Target(self._run_target(path), written, path, RUN_FILE, new_directory=True))
        resolved, problems = check_targets(targets, self.spec_path.parent, protected)
        if problems:
            issues = [
                (("runtime", "compose") if t.name.startswith("runtime.compose") else ("profiles", profile_of[t.name], "output"), message)
                for t, message in problems
            ]
            raise SpecError(locate_issues(self.text, str(self.spec_path), issues))
        return [replace(o, target=resolved[self._run_target(o.path) if o.run_file else f"profiles.{o.profile}.output"]) for o in outputs]

    def run_paths(self) -> list[Path]:
        """Where the run files go (runtime.compose's directory); none without runtime.compose."""
        compose = self.spec.runtime.compose
        if compose is None:
            return []
        directory = (self.spec_path.parent / compose).parent
        return [directory / name for name in run_file_names(compose)]

    def _run_target(self, path: Path) -> str:
        return f"runtime.compose ({path.relative_to(self.spec_path.parent).as_posix()})"

    def inputs(self) -> dict[Path, str]:
        """Every file of the project a command reads or generates, resolved, with its name:
        what a file the user names (--changelog, --output) must never be."""
        protected = protected_paths(self.spec_path)
        for index, copy in enumerate(self.spec.files):
            protected.setdefault(resolve(self.spec_path.parent / copy.src), f"the source of files[{index}] ({copy.src})")
        for name in self.spec.profiles:
            protected.setdefault(resolve(self.output_path(name)), f"the output of profile {name} ({self.spec.profiles[name].output})")
        for path in self.run_paths():
            protected.setdefault(resolve(path), f"a run file ({path.relative_to(self.spec_path.parent).as_posix()})")
        for package in self.lock.packages.values():
            for relative in package.files:
                protected.setdefault(resolve(self.spec_path.parent / relative), f"a file of a transitive lock ({relative})")
        return protected

    def writable(
        self, path: Path, name: str, shape: Shape | None, *, as_given: str | None = None, anywhere: bool = False, option: bool = True
    ) -> Path:
        """``path`` resolved, once it passes the path rule of generator.output (inside the
        project unless ``anywhere``, not a file of the project, a regular file of ``shape``
        or nothing, and for an ``option`` the user names not a symlink); UsageError naming
        ``name`` (the option, or the file) otherwise. Called before the command changes
        anything."""
        protected = self.inputs()
        real = resolve(path)
        if protected.get(real, "").startswith("the lock file") and name == LOCK_NAME:
            del protected[real]  # `sandbox lock` and `update` write the lock itself
        target = Target(name, as_given or str(path), path, shape, through_links=not option)
        resolved, problems = check_targets([target], self.spec_path.parent, protected, anywhere=anywhere)
        if problems:
            raise UsageError(f"{name}: {problems[0][1]}")
        return resolved[name]

    def write(self, outputs: list[Output]) -> list[tuple[Output, bool]]:
        """Check every output against the path rule, then write them: (output, changed)."""
        written = []
        for output in self.checked(outputs):
            assert output.target is not None  # checked() gives every output its target
            if output.run_file:
                output.target.parent.mkdir(exist_ok=True)  # gate/, beside the Compose file
            written.append((output, write_atomic(output.target, output.text)))
        return written

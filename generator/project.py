"""One spec and the files generated from it: the unit generate, check and lint work on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.errors import UsageError
from generator.lockfile import Lock
from generator.loader import load_spec
from generator.render import render
from generator.spec import Spec


@dataclass(frozen=True)
class Output:
    profile: str
    path: Path
    text: str


@dataclass
class Project:
    spec_path: Path
    spec: Spec
    lock: Lock

    @classmethod
    def load(cls, spec_path: Path) -> Project:
        spec = load_spec(spec_path)
        return cls(spec_path, spec, Lock.beside(spec_path))

    def profiles(self, selected: tuple[str, ...] = ()) -> list[str]:
        unknown = [p for p in selected if p not in self.spec.profiles]
        if unknown:
            raise UsageError(f"unknown profile {unknown[0]!r}; {self.spec_path} declares: {', '.join(self.spec.profiles)}")
        return list(selected) or list(self.spec.profiles)

    def output_path(self, profile: str) -> Path:
        return self.spec_path.parent / self.spec.profiles[profile].output

    def outputs(self, selected: tuple[str, ...] = ()) -> list[Output]:
        return [
            Output(profile, self.output_path(profile), render(self.spec, profile, self.lock))
            for profile in self.profiles(selected)
        ]

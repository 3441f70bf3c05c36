"""Small specs built as data, rendered through the real loader (YAML text -> positions ->
models), and parsed back with BuildKit's own Dockerfile parser (the ``dockerfile`` package).
Shared by the generator tests; a module of its own rather than conftest.py, which pytest
imports under a name of its choosing."""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass
from typing import Any

import dockerfile
import pytest
from ruamel.yaml import YAML

from generator.errors import Problem, SpecError
from generator.loader import parse
from generator.render import render

#: A spec every test can start from: the tools the base spec's runtime needs (tini for
#: PID 1, zsh as login shell), plus the package managers other methods require.
BASE_SPEC: dict[str, Any] = {
    "image": {
        "name": "example/sandbox",
        "labels": {
            "title": "Example sandbox",
            "description": "test image",
            "url": "https://example.com",
            "source": "https://example.com/src",
            "vendor": "Example",
            "licenses": "MIT",
        },
    },
    "base": {"image": "ubuntu", "tag": "24.04"},
    "tools": [
        {
            "name": "support",
            "method": "apt",
            "packages": ["zsh", "tini", "git"],
            "provides": ["zsh", "tini", "git", "npm", "uv", "mise"],
            "unpinned_reason": "test fixture follows the distribution",
        }
    ],
}

#: A base whose stage can run what git and release stages need (they build FROM base).
STAGE_BASE: dict[str, Any] = {
    "image": "ubuntu",
    "tag": "24.04",
    "packages": ["ca-certificates", "curl", "git", "unzip", "xz-utils", "bzip2"],
}

SHA_A = "a" * 64
SHA_B = "b" * 64
COMMIT = "0123456789abcdef0123456789abcdef01234567"

#: One valid entry per install method, used by the method tests and the property test.
SAMPLE_TOOLS: dict[str, dict[str, Any]] = {
    "apt": {"name": "jq", "method": "apt", "packages": ["jq=1.7.1-3build1"]},
    "release": {
        "name": "rg",
        "method": "release",
        "version": "15.1.0",
        "url": "https://example.com/rg/{version}/{asset}",
        "assets": {"amd64": "rg-{version}-x86_64.tar.gz", "arm64": "rg-{version}-aarch64.tar.gz"},
        "binaries": [{"path": "{stem}/rg", "name": "rg"}],
        "sha256": {"amd64": SHA_A, "arm64": SHA_B},
    },
    "npm": {"name": "prettier", "method": "npm", "version": "3.3.3"},
    "uv": {"name": "ruff", "method": "uv", "version": "0.6.1", "python": "3.12"},
    "cargo": {"name": "tokei", "method": "cargo", "version": "12.1.2"},
    "go": {"name": "shfmt", "method": "go", "package": "mvdan.cc/sh/v3/cmd/shfmt", "version": "v3.10.0"},
    "mise": {"name": "node", "method": "mise", "version": "22.11.0", "env": {"MISE_NODE_COREPACK": "0"}},
    "git": {"name": "zsh-plugins", "method": "git", "url": "https://example.com/plugins.git", "commit": COMMIT, "dest": "~/.zsh/plugins"},
    "script": {
        "name": "installer",
        "method": "script",
        "version": "1.2.3",
        "url": "https://example.com/install-{version}.sh",
        "sha256": SHA_A,
        "runs_upstream_code": True,
        "args": ["--yes"],
    },
    "rustup": {
        "name": "rust",
        "method": "rustup",
        "version": "1.94.1",
        "rustup_version": "1.29.0",
        "sha256": {"amd64": SHA_A, "arm64": SHA_B},
        "components": ["clippy", "rustfmt"],
    },
    "deb": {
        "name": "demo",
        "method": "deb",
        "version": "1.0.0",
        "url": "https://example.com/demo/v{version}/demo_{version}_{arch}.deb",
        "sha256": {"amd64": SHA_A, "arm64": SHA_B},
    },
}


def spec_data(*tools: dict[str, Any], **top: Any) -> dict[str, Any]:
    """BASE_SPEC plus ``tools`` (after the support tool) and top-level overrides."""
    data = copy.deepcopy(BASE_SPEC)
    data["tools"] += [copy.deepcopy(t) for t in tools]
    data.update(copy.deepcopy(top))
    return data


def to_yaml(data: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    # keep the author's order: it decides the default profile and the ENV/LABEL order
    yaml.representer.sort_base_mapping_type_on_output = False
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


def load(data: dict[str, Any], filename: str = "sandbox.yaml"):
    """Validate spec data through the real loader (so positions and paths are real)."""
    return parse(to_yaml(data), filename)


def problems(data: dict[str, Any]) -> list[Problem]:
    """The problems the loader reports for ``data``; fails the test if it accepts it."""
    with pytest.raises(SpecError) as caught:
        load(data)
    return caught.value.problems


def fields(data: dict[str, Any]) -> list[str]:
    return [p.field for p in problems(data)]


@dataclass
class Rendered:
    text: str
    instructions: list  # dockerfile.Command

    @property
    def cmds(self) -> list[str]:
        return [c.cmd for c in self.instructions]

    def stages(self) -> dict[str, list]:
        """Stage name -> its instructions (FROM included)."""
        result: dict[str, list] = {}
        current: list | None = None
        for command in self.instructions:
            if command.cmd == "FROM":
                words = [w.lower() for w in command.value]
                name = command.value[words.index("as") + 1] if "as" in words else command.value[0]
                current = result.setdefault(name, [])
            if current is not None:
                current.append(command)
        return result

    def runs(self, stage: str | None = None) -> list[str]:
        commands = self.stages()[stage] if stage else self.instructions
        return [c.value[0] for c in commands if c.cmd == "RUN"]


def render_spec(spec, profile: str | None = None, lock=None) -> Rendered:
    from generator.lockfile import Lock

    text = render(spec, profile, lock if lock is not None else Lock())
    return Rendered(text, list(dockerfile.parse_string(text)))


def render_data(data: dict[str, Any], profile: str | None = None, lock=None) -> Rendered:
    return render_spec(load(data), profile, lock)


def tool_data(method: str, drop: tuple[str, ...] = (), **changes: Any) -> dict[str, Any]:
    """The sample tool of ``method`` with keys dropped or changed."""
    tool = copy.deepcopy(SAMPLE_TOOLS[method])
    for key in drop:
        tool.pop(key, None)
    tool.update(copy.deepcopy(changes))
    return tool


def rejected(data: dict[str, Any], field: str, contains: str = "") -> Problem:
    """Assert the loader rejects ``data`` with a problem at ``field`` whose line in the
    YAML text really holds that field; return the problem."""
    found = problems(data)
    matching = [p for p in found if p.field == field and contains in p.message]
    assert matching, f"no problem at {field!r} mentioning {contains!r}; got: {[str(p) for p in found]}"
    problem = matching[0]
    line = to_yaml(data).splitlines()[problem.line - 1]
    last = field.rsplit(".", 1)[-1].split("[", 1)[0]
    if last and not field.endswith("]") and "." in field:
        assert last in line or line.strip().startswith("-"), f"{problem} points at {line!r}"
    return problem

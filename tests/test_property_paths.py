"""Property tests for the paths of the spec: whatever is written in a home path (the workspace,
a volume, a user_owned file, a git dest, PATH) or in a release's asset name, binary path or
tree, the spec is refused, or what the build makes of it stays where it says. No accepted value
makes the build give the user the root, a directory of the system or root's or another user's
home, and no filled release path leaves the archive."""

from __future__ import annotations

import posixpath
import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from generator.errors import SpecError
from generator.methods.release import ReleaseTool
from tests.integration.examples import examples
from tests.integration.small_specs import STAGE_BASE, load, render_spec, spec_data, tool_data

SETTINGS = settings(max_examples=examples(150), derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))

#: parts that name somewhere else than they read, names of the system's directories, and
#: harmless ones
PARTS = ["..", ".", "", "...", "..x", ".ssh", "etc", "home", "opencode", "alice", "root", "usr", "local", "bin", "var", "lib",
         "srv", "sudoers.d", "data", "{stem}", "{version}", "{arch}"]  # fmt: skip
PREFIXES = ["~", "~/", "/", "//", "", "~alice/", "/home/", "/home/opencode/"]


@st.composite
def paths(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(PARTS), max_size=5))
    return draw(st.sampled_from(PREFIXES)) + "/".join(parts) + draw(st.sampled_from(["", "/"]))


#: where a drawn path goes in the spec, and the field a refusal names
PLACES = {
    "workspace": (lambda path: {"user": {"workspace": path}}, "user.workspace"),
    "volume": (lambda path: {"runtime": {"volumes": [path]}}, "runtime.volumes[0]"),
    "user_owned file": (lambda path: {"files": [{"src": "files/zshrc", "dest": path, "user_owned": True}]}, "files[0].dest"),
    "path": (lambda path: {"path": [path]}, "path[0]"),
}


def _refused_at(error: SpecError, *fields: str) -> None:
    """The spec was refused for the drawn value, not for something else of the test's spec."""
    assert {problem.field for problem in error.problems} <= set(fields), [str(p) for p in error.problems]


def _owned(rendered) -> list[str]:
    """The paths the final stage gives the user: install -d -o's list and COPY --chown's dest."""
    owned: list[str] = []
    for command in rendered.stages()["sandbox"]:
        if command.cmd == "RUN" and "install -d -o" in command.value[0]:
            block = command.value[0].split("install -d -o", 1)[1].split("&&", 1)[0]
            owned += [word.strip("'") for word in block.split()[4:]]
        elif command.cmd == "COPY" and any(flag.startswith("--chown") for flag in command.flags):
            owned.append(command.value[-1])
    return owned


def _normal(path: str) -> bool:
    return "//" not in path and posixpath.normpath(path) == (path.rstrip("/") or "/")


def _stays_put(path: str, home: str = "/home/opencode") -> None:
    assert path.startswith("/") and _normal(path), path
    inside = path == home or path.startswith(home + "/")
    if not inside:
        parts = path.strip("/").split("/")
        assert parts != [""] and parts[0] not in {"home", "etc", "root", "usr", "bin", "sbin", "lib"}, path
        assert not (len(parts) == 1 and parts[0] in {"var", "srv", "opt", "tmp"}), path


@pytest.mark.parametrize("place", PLACES)
@SETTINGS
@given(path=paths())
def test_a_home_path_is_refused_or_stays_where_it_says(place, path):
    top, field = PLACES[place]
    try:
        spec = load(spec_data(**top(path)))
    except SpecError as error:
        _refused_at(error, field)
        return
    rendered = render_spec(spec)
    for owned in _owned(rendered):
        _stays_put(owned)
    workdir = next(c.value[0] for c in rendered.stages()["sandbox"] if c.cmd == "WORKDIR")
    assert _normal(workdir), workdir
    for entry in spec.path:
        assert _normal(spec.user.in_home(entry)), entry


@SETTINGS
@given(path=paths())
def test_a_git_dest_is_refused_or_stays_where_it_says(path):
    try:
        spec = load(spec_data(tool_data("git", dest=path), base=STAGE_BASE))
    except SpecError as error:
        _refused_at(error, "tools[1].dest")
        return
    rendered = render_spec(spec)
    (copy,) = [c for c in rendered.stages()["sandbox"] if c.cmd == "COPY" and any("--from=git-" in f for f in c.flags)]
    dest = copy.value[-1]
    assert _normal(dest) and dest != "/", dest
    if any(flag.startswith("--chown") for flag in copy.flags):
        _stays_put(dest)
    else:
        assert not re.match(r"/home/(?!opencode(/|$))", dest), dest


@SETTINGS
@given(asset=paths(), path=paths(), tree=st.one_of(st.none(), paths()))
def test_release_paths_are_refused_or_filled_inside_the_archive(asset, path, tree):
    tool = tool_data("release", assets={"amd64": asset + ".tar.gz", "arm64": "x.zip"}, binaries=[{"path": path, "name": "x"}])
    if tree is not None:
        tool["tree"] = tree
    try:
        spec = load(spec_data(tool, base=STAGE_BASE))
    except SpecError as error:
        _refused_at(error, "tools[1].assets.amd64", "tools[1].binaries[0].path", "tools[1].tree", "tools[1]")
        return
    (release,) = [t for t in spec.tools if isinstance(t, ReleaseTool)]
    for arch in ("amd64", "arm64"):
        name = release.asset_name(arch)
        assert "/" not in name and name not in {".", ".."}
        for inside in [release.fill(path, arch), *([release.fill(tree, arch)] if tree else [])]:
            assert not inside.startswith("/") and not {"", ".", ".."} & set(inside.rstrip("/").split("/")), inside

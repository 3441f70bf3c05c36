"""~ in user.workspace, runtime.volumes and files[].dest is the user's home, so renaming the
user moves them along; an absolute path left in another user's home is refused with the ~
form to write instead (before, a renamed user silently lost the workspace, the volumes and
the shell's files to a home nobody used)."""

from __future__ import annotations

import json

import pytest

from generator import default_spec_path
from generator.loader import parse
from generator.lockfile import Lock
from generator.render import render
from tests.integration.small_specs import STAGE_BASE, rejected, render_data, spec_data, tool_data

HOME_PATHS = {
    "user": {"name": "alice", "uid": 1500, "gid": 1500, "workspace": "~/projects"},
    "runtime": {"volumes": ["~/.ssh", "~/projects", "/srv/data"]},
    "files": [{"src": "files/zshrc", "dest": "~/.zshrc", "user_owned": True}],
}


def _final(data: dict, cmd: str) -> list[str]:
    return [c.original for c in render_data(data).stages()["sandbox"] if c.cmd == cmd]


def test_home_paths_follow_the_user():
    data = spec_data(**HOME_PATHS)
    (workdir,) = _final(data, "WORKDIR")
    assert workdir == "WORKDIR /home/alice/projects"
    (volume,) = _final(data, "VOLUME")
    assert json.loads(volume.removeprefix("VOLUME ")) == ["/home/alice/.ssh", "/home/alice/projects", "/srv/data"]
    (zshrc,) = [copy for copy in _final(data, "COPY") if "files/zshrc" in copy]
    assert zshrc.endswith("files/zshrc /home/alice/.zshrc") and "--chown=1500:1500" in zshrc
    env = " ".join(_final(data, "ENV"))
    assert '"/home/alice/.ssh:/home/alice/projects:/srv/data"' in env
    assert "~" not in workdir + volume + zshrc + env


def test_the_default_spec_follows_a_renamed_user():
    text = default_spec_path().read_text(encoding="utf-8").replace("\n  name: opencode\n", "\n  name: alice\n", 1)
    dockerfile = render(parse(text, str(default_spec_path())), None, Lock())
    assert "WORKDIR /home/alice/workspace" in dockerfile
    assert "/home/alice/.local/share/opencode" in dockerfile and "/home/alice/.zshrc" in dockerfile
    # what is left of the old name is the user-independent oh-my-zsh check's comment or nothing
    assert "/home/opencode/workspace" not in dockerfile and "/home/opencode/.ssh" not in dockerfile


@pytest.mark.parametrize(
    ("top", "field", "suggestion"),
    [
        ({"user": {"name": "alice", "workspace": "/home/opencode/workspace"}}, "user.workspace", "'~/workspace'"),
        ({"user": {"name": "alice"}, "runtime": {"volumes": ["/home/opencode/.ssh"]}}, "runtime.volumes[0]", "'~/.ssh'"),
        ({"user": {"name": "alice"}, "files": [{"src": "files/zshrc", "dest": "/home/opencode/.zshrc"}]}, "files[0].dest", "'~/.zshrc'"),
        ({"user": {"name": "alice"}, "path": ["/home/opencode/.local/bin"]}, "path[0]", "'~/.local/bin'"),
        ({"user": {"name": "alice", "home": "/srv/alice"}, "runtime": {"volumes": ["/home/alice"]}}, "runtime.volumes[0]", "'~'"),
        ({"user": {"name": "alice"}, "runtime": {"volumes": ["/home/alicebob/.ssh"]}}, "runtime.volumes[0]", "'~/.ssh'"),
    ],
)
def test_a_path_in_another_users_home_is_refused_with_the_home_form(top, field, suggestion):
    problem = rejected(spec_data(**top), field, "is in another user's home")
    assert f"write {suggestion} to follow the user" in problem.message


@pytest.mark.parametrize(
    "top",
    [
        {"user": {"name": "alice", "workspace": "/home/alice/work"}},
        {"user": {"name": "alice"}, "runtime": {"volumes": ["/home/alice", "/srv/x", "/homestead/x"]}},
        {"user": {"name": "alice", "home": "/home/shared/alice"}, "runtime": {"volumes": ["/home/shared/alice/.ssh"]}},
    ],
)
def test_paths_in_the_users_own_home_or_elsewhere_are_accepted(top):
    render_data(spec_data(**top))


@pytest.mark.parametrize(
    ("top", "field"),
    [
        ({"runtime": {"volumes": ["~root/.ssh"]}}, "runtime.volumes[0]"),
        ({"user": {"workspace": "~alice"}}, "user.workspace"),
        ({"files": [{"src": "files/zshrc", "dest": "~x/.zshrc"}]}, "files[0].dest"),
    ],
)
def test_another_users_tilde_is_refused(top, field):
    rejected(spec_data(**top), field, "(not ~name;")


def test_a_git_dest_in_another_users_home_is_refused_like_the_other_home_paths():
    # before: only the workspace, volumes, files and PATH were checked, though the README
    # listed a git tool's dest among them
    tool = tool_data("git", dest="/home/opencode/.zsh/plugins")
    problem = rejected(spec_data(tool, user={"name": "alice"}, base=STAGE_BASE), "tools[1].dest", "is in another user's home")
    assert "write '~/.zsh/plugins' to follow the user" in problem.message


def test_a_home_written_with_a_trailing_slash_gives_paths_without_a_double_slash():
    data = spec_data(user={"name": "alice", "home": "/srv/alice/", "workspace": "~/projects"}, runtime={"volumes": ["~/.ssh"]})
    (workdir,) = _final(data, "WORKDIR")
    assert workdir == "WORKDIR /srv/alice/projects"
    (volume,) = _final(data, "VOLUME")
    assert json.loads(volume.removeprefix("VOLUME ")) == ["/srv/alice/.ssh"]


@pytest.mark.parametrize(
    ("top", "field", "says"),
    [
        ({"user": {"workspace": "/"}}, "user.workspace", "'/' is the root directory"),
        ({"user": {"workspace": "/home"}}, "user.workspace", "'/home' is a directory of the system"),
        ({"runtime": {"volumes": ["/etc"]}}, "runtime.volumes[0]", "'/etc' is a directory that belongs to the system"),
        ({"runtime": {"volumes": ["/etc/sudoers.d"]}}, "runtime.volumes[0]", "is inside /etc, which belongs to the system"),
        ({"runtime": {"volumes": ["/root"]}}, "runtime.volumes[0]", "'/root' is root's home"),
        ({"runtime": {"volumes": ["/var/log"]}}, "runtime.volumes[0]", "is a directory of the system"),
        ({"files": [{"src": "files/zshrc", "dest": "/root/.zshrc", "user_owned": True}]}, "files[0].dest", "drop user_owned"),
        ({"user": {"home": "/"}}, "user.home", "omit home for /home/opencode"),
        ({"user": {"name": "alice", "home": "/home"}}, "user.home", "omit home for /home/alice"),
        ({"user": {"home": "/etc"}, "runtime": {"volumes": ["~"]}}, "user.home", "belongs to the system"),
    ],
)
def test_the_build_never_gives_the_user_a_directory_of_the_system(top, field, says):
    rejected(spec_data(**top), field, says)


@pytest.mark.parametrize(
    "top",
    [
        {"user": {"workspace": "/workspace"}, "runtime": {"volumes": ["/srv/data", "/var/lib/opencode", "/opt/cache", "~"]}},
        {"files": [{"src": "files/zshrc", "dest": "/etc/zsh/zshrc"}, {"src": "files/zshrc", "dest": "/srv/x/zshrc", "user_owned": True}]},
        {"user": {"home": "/opt/opencode", "workspace": "~"}},
    ],
)
def test_directories_of_its_own_stay_the_users(top):
    render_data(spec_data(**top))


@pytest.mark.parametrize("dest", ["/", "/etc", "/usr/", "/home"])
def test_a_checkout_is_never_merged_over_the_system(dest):
    rejected(spec_data(tool_data("git", dest=dest), base=STAGE_BASE), "tools[1].dest", "the checkout would be merged into it")

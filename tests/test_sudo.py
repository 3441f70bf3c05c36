"""user.sudo: every command, none, or only the programs listed (least privilege), as the
Dockerfile writes the rule; the image's own visudo checks it at build time."""

from __future__ import annotations

import shlex

import pytest

from generator.dockerfile_data import sudoers_line
from generator.lint import lint
from tests.integration.small_specs import BASE_SPEC, render_data


def with_sudo(sudo: object) -> dict:
    data = {**BASE_SPEC, "user": {"name": "opencode", "sudo": sudo}}
    tools = [dict(t) for t in data["tools"]]
    tools[0]["packages"] = [*tools[0]["packages"], "sudo"]
    return {**data, "tools": tools}


def user_run(sudo: object) -> str:
    text = render_data(with_sudo(sudo)).text
    return next(block for block in text.split("\n\n") if "useradd" in block)


def test_a_list_allows_exactly_those_programs_as_root_and_visudo_checks_the_rule():
    run = user_run(["/usr/bin/apt-get", "/usr/bin/apt"])
    rule = "opencode ALL=(root) NOPASSWD: /usr/bin/apt-get, /usr/bin/apt"
    assert f" && echo {shlex.quote(rule)} > /etc/sudoers.d/opencode \\" in run
    assert " && visudo --check --quiet --file /etc/sudoers.d/opencode \\" in run
    # the echo is one word for the shell: what lands in the file is the rule, byte for byte
    line = next(line for line in run.splitlines() if "echo " in line)
    assert shlex.split(line.split("echo ", 1)[1].split(" > ")[0]) == [rule]


@pytest.mark.parametrize(
    ("sudo", "rule"),
    [
        (True, "opencode ALL=(ALL) NOPASSWD:ALL"),
        (False, None),
        (["/usr/bin/apt-get"], "opencode ALL=(root) NOPASSWD: /usr/bin/apt-get"),
    ],
)
def test_the_rule_for_each_setting(sudo, rule):
    assert sudoers_line("opencode", sudo) == rule
    run = user_run(sudo)
    assert ("/etc/sudoers.d/opencode" in run) is (rule is not None)


def test_a_spec_with_a_list_lints_clean():
    assert lint(render_data(with_sudo(["/usr/bin/apt-get", "/usr/sbin/service"])).text, "Dockerfile") == []

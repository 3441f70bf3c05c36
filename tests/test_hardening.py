"""runtime.hardening: how `sandbox test --hardened` runs the container (the engine's options,
from the spec), and what the spec refuses. The container side is proven in
tests/docker/test_agent.py, where the whole agent suite runs hardened."""

from __future__ import annotations

import pytest

from generator.docker.smoke import CAPABILITY_BITS, hardened_options
from generator.spec import SUDO_CAPABILITIES
from tests.integration.small_specs import BASE_SPEC, load, rejected


def spec_with(sudo: object = True, **hardening: object):
    user = {"name": "opencode", "uid": 1000, "gid": 1000, "sudo": sudo}
    tools = [dict(t) for t in BASE_SPEC["tools"]]
    tools[0]["packages"] = [*tools[0]["packages"], "sudo"]
    return load({**BASE_SPEC, "user": user, "tools": tools, "runtime": {"hardening": hardening}})


def test_with_sudo_the_root_is_read_only_and_only_what_sudo_needs_is_kept():
    options = hardened_options(spec_with(True))
    assert options["read_only"] is True
    assert options["cap_drop"] == ["ALL"]
    assert options["cap_add"] == list(SUDO_CAPABILITIES)
    assert options["security_options"] == []  # sudo is a setuid program
    assert (options["pids_limit"], options["memory"]) == (4096, "8g")
    # the user's scratch directories are the user's, private; all may run what is compiled there
    assert options["tmpfs"] == [
        "/tmp:rw,exec,mode=1777",
        "/run:rw,exec,mode=0755",
        "/home/opencode/.cache:rw,exec,mode=0700,uid=1000,gid=1000",
        "/home/opencode/.npm:rw,exec,mode=0700,uid=1000,gid=1000",
    ]


def test_a_sudo_list_keeps_what_sudo_needs_too():
    assert hardened_options(spec_with(["/usr/bin/apt-get"]))["cap_add"] == list(SUDO_CAPABILITIES)


def test_without_sudo_nothing_is_kept_and_no_new_privileges():
    options = hardened_options(spec_with(False))
    assert options["cap_add"] == []
    assert options["security_options"] == ["no-new-privileges"]


def test_the_spec_may_say_otherwise():
    options = hardened_options(
        spec_with(False, read_only=False, tmpfs=["/tmp"], capabilities=["NET_BIND_SERVICE"], pids_limit=100, memory="512m")
    )
    assert (options["read_only"], options["tmpfs"], options["cap_add"]) == (False, ["/tmp:rw,exec,mode=1777"], ["NET_BIND_SERVICE"])
    assert (options["pids_limit"], options["memory"]) == (100, "512m")


def test_every_capability_the_spec_takes_has_its_bit():
    from typing import get_args

    from generator.spec import Capability

    assert set(get_args(Capability)) == set(CAPABILITY_BITS)


@pytest.mark.parametrize(
    ("hardening", "field", "contains"),
    [
        ({"tmpfs": ["/"]}, "runtime.hardening.tmpfs", "would hide the image"),
        ({"tmpfs": ["~"]}, "runtime.hardening.tmpfs", "would hide the image"),
        ({"capabilities": ["SYS_ADMIN"]}, "runtime.hardening.capabilities[0]", ""),
        ({"memory": "8"}, "runtime.hardening.memory", "a size such as 512m or 8g"),
        ({"pids_limit": 10}, "runtime.hardening.pids_limit", ""),
    ],
)
def test_what_the_spec_refuses(hardening, field, contains):
    user = {"name": "opencode"}
    rejected({**BASE_SPEC, "user": user, "runtime": {"hardening": hardening}}, field, contains)

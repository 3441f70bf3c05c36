"""runtime.entrypoint, runtime.healthcheck.script, and the user-owned directories."""

from __future__ import annotations

import json

import pytest

from tests.integration.small_specs import rejected, render_data, spec_data, tool_data


def _final(rendered, cmd):
    return [c for c in rendered.stages()["sandbox"] if c.cmd == cmd]


def test_defaults_start_the_command_under_the_init_and_check_with_curl():
    rendered = render_data(spec_data())
    (entrypoint,) = _final(rendered, "ENTRYPOINT")
    assert json.loads(entrypoint.original.split(None, 1)[1]) == ["tini", "--"]
    (health,) = _final(rendered, "HEALTHCHECK")
    command = json.loads(health.original.split("CMD", 1)[1])
    assert command[0] == "curl" and command[-1] == "http://127.0.0.1:3000/"


def test_entrypoint_script_runs_between_the_init_and_the_command():
    rendered = render_data(spec_data(runtime={"entrypoint": "/usr/local/bin/sandbox-entrypoint"}))
    (entrypoint,) = _final(rendered, "ENTRYPOINT")
    assert json.loads(entrypoint.original.split(None, 1)[1]) == ["tini", "--", "/usr/local/bin/sandbox-entrypoint"]
    (cmd,) = _final(rendered, "CMD")
    assert json.loads(cmd.original.split(None, 1)[1])[:2] == ["opencode", "web"]


def test_healthcheck_script_gets_the_url():
    runtime = {"port": 4096, "healthcheck": {"path": "/health", "script": "/usr/local/bin/check"}}
    (health,) = _final(render_data(spec_data(runtime=runtime)), "HEALTHCHECK")
    assert json.loads(health.original.split("CMD", 1)[1]) == ["/usr/local/bin/check", "http://127.0.0.1:4096/health"]


def test_relative_or_shell_paths_are_rejected():
    rejected(spec_data(runtime={"entrypoint": "sandbox-entrypoint"}), "runtime.entrypoint", "absolute path")
    rejected(spec_data(runtime={"healthcheck": {"script": "/bin/check;id"}}), "runtime.healthcheck.script", "absolute path")


@pytest.mark.parametrize(
    "command",
    [
        ["opencode", "web"],
        ["/usr/local/bin/opencode", "--print-logs", "web"],
        ["opencode", "--log-level", "DEBUG", "serve"],
        ["opencode", "--log-level=WARN", "--print-logs", "web", "--cors", "https://example.com"],
    ],
)
def test_auth_basic_takes_opencodes_server_in_every_form_the_entrypoint_recognises(command):
    rendered = render_data(spec_data(runtime={"auth": "basic", "command": command}))
    (cmd,) = _final(rendered, "CMD")
    assert json.loads(cmd.original.split(None, 1)[1])[: len(command)] == command


@pytest.mark.parametrize(
    ("command", "field", "found"),
    [
        (["env", "opencode", "web"], "runtime.command[0]", "got 'env'"),
        (["/usr/bin/nice", "opencode", "web"], "runtime.command[0]", "got '/usr/bin/nice'"),
        (["opencode", "--pure", "web"], "runtime.command[1]", "got '--pure'"),
        (["opencode", "--log-level", "web"], "runtime.command[2]", "got 'web' after --log-level"),
        (["opencode", "--log-level=debug", "web"], "runtime.command[1]", "got '--log-level=debug'"),
        (["opencode", "--print-logs"], "runtime.command", "got no web or serve"),
        (["opencode-server", "web"], "runtime.command[0]", "got 'opencode-server'"),
    ],
)
def test_auth_basic_refuses_a_server_the_entrypoint_cannot_recognise(command, field, found):
    problem = rejected(spec_data(runtime={"auth": "basic", "command": command}), field, found)
    assert "runtime.auth basic needs opencode's web server as the image's entrypoint recognises it" in problem.message
    # without the claim, any command is the spec's to choose
    render_data(spec_data(runtime={"auth": "none", "command": command}))


def _owned_dirs(rendered) -> list[str]:
    (user_run,) = [c for c in _final(rendered, "RUN") if "useradd" in c.value[0]]
    return user_run.value[0].split("install -d -o 1000 -g 1000 ", 1)[1].split()


def test_volume_ancestors_under_the_home_are_owned_by_the_user_parents_first():
    runtime = {"volumes": ["/home/opencode/.local/share/opencode", "/data"]}
    dirs = _owned_dirs(render_data(spec_data(runtime=runtime)))
    home = "/home/opencode"
    for wanted in (f"{home}/.local", f"{home}/.local/share", f"{home}/.local/share/opencode", "/data"):
        assert wanted in dirs
    assert dirs.index(f"{home}/.local") < dirs.index(f"{home}/.local/share") < dirs.index(f"{home}/.local/share/opencode")
    assert "/home" not in dirs and home not in dirs


def test_cache_mount_targets_exist_before_the_mounts():
    rendered = render_data(spec_data(tool_data("npm"), tool_data("uv"), tool_data("mise")))
    dirs = _owned_dirs(rendered)
    for cache in ("/home/opencode/.npm", "/home/opencode/.cache", "/home/opencode/.cache/uv", "/home/opencode/.cache/mise"):
        assert cache in dirs
    assert len(dirs) == len(set(dirs))


def test_volumes_reach_the_entrypoint_and_ssh_stays_private():
    runtime = {"volumes": ["/home/opencode/.ssh", "/home/opencode/workspace"]}
    rendered = render_data(spec_data(runtime=runtime))
    (env,) = _final(rendered, "ENV")[-1:]
    assert ("SANDBOX_DATA_DIRS", '"/home/opencode/.ssh:/home/opencode/workspace"') in list(
        zip(env.value[::2], env.value[1::2], strict=True)
    )
    (user_run,) = [c for c in _final(rendered, "RUN") if "useradd" in c.value[0]]
    assert user_run.value[0].rstrip().endswith("&& chmod 0700 /home/opencode/.ssh")
    # without volumes the entrypoint gets nothing to prepare, and nothing is made private
    plain = render_data(spec_data())
    assert not any("SANDBOX_DATA_DIRS" in c.original for c in _final(plain, "ENV"))
    assert not any("chmod 0700" in c.original for c in _final(plain, "RUN"))


def test_data_dirs_variable_belongs_to_runtime_volumes():
    rejected(spec_data(env={"SANDBOX_DATA_DIRS": "/x"}), "env", "runtime.volumes")


def test_copied_files_get_the_mode_the_spec_gives(tmp_path):
    files = [{"src": "files/run", "dest": "/usr/local/bin/run", "mode": "0755"}, {"src": "files/conf", "dest": "/etc/conf"}]
    copies = [c.original for c in _final(render_data(spec_data(files=files)), "COPY") if "files/" in c.original]
    assert copies == ["COPY --chmod=0755 files/run /usr/local/bin/run", "COPY files/conf /etc/conf"]
    rejected(spec_data(files=[{"src": "files/run", "dest": "/x", "mode": "755; id"}]), "files[0].mode", "octal")


def test_release_file_names_the_image_and_its_build():
    rendered = render_data(spec_data())
    (run,) = [c for c in rendered.stages()["release-file"] if c.cmd == "RUN"]
    words = run.value[0].split()
    assert words[words.index("NAME") + 1] == "example/sandbox"
    assert words[words.index("PROFILE") + 1] == "default"
    for build_arg in ("VERSION", "REVISION", "CREATED"):
        assert f'{build_arg} "${{SANDBOX_{build_arg}}}"' in run.value[0]
    assert "> /out/etc/sandbox-release" in run.value[0]
    # the SBOM copied in before is made read-only here (a COPY --chmod broke two-platform pushes)
    assert run.value[0].rstrip().endswith("&& chmod 0444 /out/usr/share/sandbox/sbom.cdx.json")
    assert _final(rendered, "COPY")[-1].original == "COPY --from=release-file /out/ /"

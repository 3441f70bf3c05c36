"""`sandbox cost` on the real engine: the integration spec is built, its parts must add up to
the image, and a spec change (dropping uv) must show up tool by tool in --compare."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from generator.cost.show import human
from generator.docker.client import DockerClient
from tests.docker.cli import docker_cli
from tests.integration.cli import sandbox
from tests.integration.servers import Site, start_site
from tests.integration.spec import dump, write_spec

#: how far the parts may be from the engine's own image size (classic image store): measured 0
TOLERANCE = 0.001


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, docker_client: DockerClient):
    running = start_site(tmp_path_factory.mktemp("site"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def report(site: Site, base_image: str, docker_client: DockerClient, tmp_path_factory: pytest.TempPathFactory):
    """`sandbox cost --json --save` of the integration spec: (spec, tag, report, saved path)."""
    directory = tmp_path_factory.mktemp("cost")
    spec = write_spec(directory / "spec", site, base_image)
    tag = f"local/sandbox-cost:{uuid.uuid4().hex[:12]}"
    saved = directory / "old.json"
    result = sandbox("--spec", spec, "cost", "--regenerate", "--network", "host", "--tag", tag, "--json", "--save", saved, timeout=1200)
    assert result.returncode == 0, result.stdout + result.stderr
    yield spec, tag, json.loads(result.stdout), saved
    docker_cli(docker_client, ["image", "rm", "--force", tag], check=False)


def parts(data: dict) -> dict[str, dict]:
    return {part["name"]: part for part in data["parts"]}


@pytest.mark.docker
def test_every_tool_is_a_part_and_the_apt_run_is_shared(report, docker_client: DockerClient) -> None:
    _, tag, data, _ = report
    found = parts(data)
    for tool in ("hello", "uv", "semver", "cowsay", "fixture"):
        assert found[tool]["kind"] == "tool" and found[tool]["tools"] == [tool]
        assert found[tool]["steps"] >= 1
    shared = found["shared: init + shell + runtimes"]
    assert shared["kind"] == "shared" and shared["tools"] == ["init", "shell", "runtimes"] and shared["bytes"] > 10_000_000
    for name in ("base image", "base stage", "user setup", "spec files", "image metadata"):
        assert found[name]["kind"] == "shared"
    # uv's binary is tens of MB, hello's a shell script: the order says which costs more
    assert found["uv"]["bytes"] > 1_000_000 > found["hello"]["bytes"] > 0
    names = [part["name"] for part in data["parts"]]
    assert names.index("uv") < names.index("hello")
    assert data["image"]["tag"] == tag and data["schema"] == "sandbox-cost/1"
    # no --platform: the engine's own, as the image says it is
    assert data["platform"] == docker_cli(docker_client, ["image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", tag]).stdout.strip()
    assert data["totals"]["unattributed_bytes"] == 0 and "unattributed" not in found


@pytest.mark.docker
def test_parts_add_up_to_the_image(report, docker_client: DockerClient) -> None:
    _, tag, data, _ = report
    total = sum(part["bytes"] for part in data["parts"])
    assert total == data["totals"]["bytes"]
    history = docker_cli(docker_client, ["image", "history", "--human=false", "--format", "{{.Size}}", tag]).stdout.split()
    assert total == sum(int(size) for size in history)
    if data["image"]["store"] == "classic":
        # the classic store's image size is the unpacked layers': an independent sum
        assert abs(total - data["image"]["bytes"]) <= TOLERANCE * data["image"]["bytes"]
    else:
        assert "compressed content" in " ".join(data["notes"])
    assert sum(part["share_bytes"] for part in data["parts"]) == pytest.approx(1.0, abs=0.01)


@pytest.mark.docker
def test_times_come_from_buildkit_and_say_whether_they_are_cold(report) -> None:
    _, _, data, _ = report
    build = data["build"]
    assert build["steps"] > 10 and 0 <= build["cached_steps"] <= build["steps"]
    assert build["cold"] == (build["cached_steps"] == 0)
    note = data["notes"][0]
    assert ("cold build" in note) if build["cold"] else ("--no-cache" in note)
    executed = [part for part in data["parts"] if part["steps"] > part["cached_steps"]]
    assert executed and all(part["seconds"] >= 0 for part in data["parts"])
    assert parts(data)["build engine"]["steps"] == 0


@pytest.mark.docker
def test_compare_shows_what_dropping_uv_and_its_tool_saves(report, tmp_path: Path, docker_client: DockerClient) -> None:
    spec, _, data, saved = report
    spec_data = YAML(typ="safe", pure=True).load(spec.read_text(encoding="utf-8"))
    # uv goes, and the tool that uv installs with it
    spec_data["tools"] = [tool for tool in spec_data["tools"] if tool["name"] != "uv" and tool["method"] != "uv"]
    (tmp_path / "files").mkdir()
    for name in ("npmrc", "uv.toml"):
        (tmp_path / "files" / name).write_bytes((spec.parent / "files" / name).read_bytes())
    changed = tmp_path / "sandbox.yaml"
    changed.write_text(dump(spec_data), encoding="utf-8")
    tag = f"local/sandbox-cost-compare:{uuid.uuid4().hex[:12]}"
    uv_bytes = parts(data)["uv"]["bytes"]
    try:
        result = sandbox(
            "--spec", changed, "cost", "--regenerate", "--network", "host", "--tag", tag, "--markdown", "--compare", saved, timeout=1200
        )
        assert result.returncode == 0, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        # the change first (a pull request body's reader came for that), then the report
        assert lines[0] == f"### Image cost change ({data['platform']})"
        assert next(line for line in lines if line.startswith("### Image cost: ")).startswith(
            "### Image cost: `local/sandbox-cost-compare:"
        )
        uv_row = next(line for line in lines if line.startswith("| uv | removed |"))
        assert f"| {human(-uv_bytes)} |" in uv_row
        table = sandbox("--spec", changed, "cost", "--network", "host", "--tag", tag, "--compare", saved, timeout=1200)
        assert table.returncode == 0, table.stdout + table.stderr
        assert "what the spec change costs" in table.stdout and "removed" in table.stdout
        # --platform naming the engine's own platform: on 20.10 the built-in BuildKit's --platform
        as_json = sandbox(
            "--spec",
            changed,
            "cost",
            "--network",
            "host",
            "--platform",
            data["platform"],
            "--tag",
            tag,
            "--json",
            "--compare",
            saved,
            timeout=1200,
        )
        assert as_json.returncode == 0, as_json.stdout + as_json.stderr
        compared = json.loads(as_json.stdout)
        assert compared["platform"] == data["platform"] and compared["build"]["mode"] == data["build"]["mode"]
        changes = {c["name"]: c for c in compared["compare"]["changes"]}
        assert changes["uv"]["status"] == "removed" and changes["uv"]["bytes_delta"] == -uv_bytes
        assert changes["cowsay"]["status"] == "removed"
        # hello stayed: "changed" only if one of its figures moved (its time can: cached or not)
        hello = changes["hello"]
        moved = hello["bytes_delta"] != 0 or hello["seconds_delta"] != 0
        assert hello["status"] == ("changed" if moved else "unchanged")
    finally:
        docker_cli(docker_client, ["image", "rm", "--force", tag], check=False)

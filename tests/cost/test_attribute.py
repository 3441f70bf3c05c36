"""Attribution of build times and layer bytes to tools, without Docker: the inputs are what
BuildKit prints and what `docker history` reports, written out as the engines give them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from generator.cost import show
from generator.cost.attribute import (
    BASE_IMAGE,
    BASE_STAGE,
    ENGINE,
    METADATA,
    UNATTRIBUTED,
    USER_SETUP,
    Layer,
    LayoutMismatch,
    StepTime,
    attribute,
)
from generator.cost.report import CostReport, compare, compare_note, load
from generator.docker.progress import BuildProgress
from generator.errors import UsageError
from generator.render import FinalStep, ImageLayout

LAYOUT = ImageLayout(
    stages={"release-hello": "hello", "release-uv": "uv"},
    final=(
        FinalStep("RUN", ("init", "shell"), "tools"),
        FinalStep("RUN", (), "user"),
        FinalStep("COPY", ("hello",), "tools"),
        FinalStep("COPY", ("uv",), "tools"),
        FinalStep("WORKDIR", (), "workdir"),
        FinalStep("COPY", (), "release-file"),
    ),
    base=("RUN", "RUN"),
)

#: oldest first, as image_layers returns them; the final stage's metadata entries included
HISTORY = [
    Layer("debootstrap --variant=minbase bookworm", 100_000),
    Layer("SHELL [/bin/bash -o pipefail -c]", 0),
    Layer("RUN |1 DEBIAN_FRONTEND=noninteractive /bin/bash -o pipefail -c rm -f /etc/apt/apt.conf.d/docker-clean", 10),
    Layer("RUN |1 DEBIAN_FRONTEND=noninteractive /bin/bash -o pipefail -c apt-get update && apt-get install curl", 20_000),
    Layer("ARG DEBIAN_FRONTEND=noninteractive", 0),
    Layer("RUN |1 DEBIAN_FRONTEND=noninteractive /bin/bash -o pipefail -c apt-get update && apt-get install tini zsh", 300_000),
    Layer("RUN |1 DEBIAN_FRONTEND=noninteractive /bin/bash -o pipefail -c groupadd --gid 1000 opencode", 500),
    Layer("COPY /out/ / # buildkit", 4_000),
    Layer("COPY /out/ / # buildkit", 50_000),
    Layer("USER 1000:1000", 0),
    Layer("ENV LANG=C.UTF-8", 0),
    Layer("WORKDIR /home/opencode/workspace", 0),
    Layer("LABEL org.opencontainers.image.title=t", 0),
    Layer("COPY /out/ / # buildkit", 103),
]

#: the 20.10 built-in BuildKit's step names (padded numbers in the final stage)
STEPS = [
    StepTime("[internal] load build definition from Dockerfile", "done", 0.1),
    StepTime("[base 1/3] FROM docker.io/local/debian:bookworm", "cached", 0.0),
    StepTime("[base 2/3] RUN rm -f /etc/apt/apt.conf.d/docker-clean", "done", 0.5),
    StepTime("[base 3/3] RUN --mount=type=cache,target=/var/cache/apt apt-get update", "done", 17.0),
    StepTime("[release-hello 1/2] WORKDIR /tmp/release-hello", "done", 0.1),
    StepTime("[release-hello 2/2] RUN case amd64 in", "done", 0.6),
    StepTime("[release-uv 1/2] WORKDIR /tmp/release-uv", "cached", 0.0),
    StepTime("[release-uv 2/2] RUN case amd64 in", "cached", 0.0),
    StepTime("[release-file 1/1] RUN install -d /out/etc", "done", 0.3),
    StepTime("[sandbox 1/6] RUN --mount=type=cache,target=/var/cache/apt apt-get update", "done", 50.0),
    StepTime("[sandbox 2/6] RUN existing=", "done", 0.2),
    StepTime("[sandbox 3/6] COPY --from=release-hello /out/ /", "done", 0.1),
    StepTime("[sandbox 4/6] COPY --from=release-uv /out/ /", "done", 0.4),
    StepTime("[sandbox 5/6] WORKDIR /home/opencode/workspace", "done", 0.0),
    StepTime("[sandbox 6/6] COPY --from=release-file /out/ /", "done", 0.0),
    StepTime("exporting to image", "done", 1.5),
]


def parts_by_name(parts) -> dict:
    return {part.name: part for part in parts}


def test_bytes_go_to_the_tools_and_shared_parts_and_add_up() -> None:
    parts, unattributed, warnings = attribute(LAYOUT, STEPS, HISTORY)
    found = parts_by_name(parts)
    assert {name: part.bytes for name, part in found.items() if part.bytes} == {
        "shared: init + shell": 300_000, BASE_IMAGE: 100_000, "uv": 50_000, BASE_STAGE: 20_010,
        "hello": 4_000, USER_SETUP: 500, METADATA: 103,
    }  # fmt: skip
    assert sum(part.bytes for part in parts) == sum(layer.size for layer in HISTORY)
    assert unattributed == 0 and warnings == []
    assert found["shared: init + shell"].kind == "shared" and found["shared: init + shell"].tools == ("init", "shell")
    assert found["uv"].kind == "tool" and found["uv"].tools == ("uv",)
    # sorted by bytes, largest first
    assert [part.bytes for part in parts] == sorted((part.bytes for part in parts), reverse=True)


def test_times_go_to_the_stage_or_final_step_of_each_tool() -> None:
    found = parts_by_name(attribute(LAYOUT, STEPS, HISTORY)[0])
    assert found["hello"].seconds == pytest.approx(0.1 + 0.6 + 0.1)
    assert (found["uv"].steps, found["uv"].cached_steps) == (3, 2)
    assert found["shared: init + shell"].seconds == 50.0
    assert found[BASE_STAGE].seconds == pytest.approx(17.5)
    assert found[METADATA].seconds == pytest.approx(0.3)
    # the engine's own work keeps its time but counts no step; a FROM is no cacheable step
    assert (found[ENGINE].seconds, found[ENGINE].steps) == (pytest.approx(1.6), 0)
    assert (found[BASE_IMAGE].steps, found[BASE_IMAGE].cached_steps) == (0, 0)


def test_buildx_final_stage_names_without_padding_map_the_same() -> None:
    steps = [StepTime("[sandbox 4/6] COPY --from=release-uv /out/ /", "done", 2.0)]
    assert parts_by_name(attribute(LAYOUT, steps, HISTORY)[0])["uv"].seconds == 2.0


def test_a_step_of_an_unknown_stage_is_unattributed_and_said() -> None:
    steps = [StepTime("[mystery 1/1] RUN true", "done", 3.0)]
    parts, _, warnings = attribute(LAYOUT, steps, HISTORY)
    assert parts_by_name(parts)[UNATTRIBUTED].seconds == 3.0
    assert warnings == ["build step '[mystery 1/1] RUN true' is not one the layout names"]


def test_bytes_in_a_metadata_entry_are_unattributed_not_lost() -> None:
    history = [*HISTORY[:10], Layer("ENV X=1", 7), *HISTORY[10:]]
    parts, unattributed, warnings = attribute(LAYOUT, [], history)
    assert unattributed == 7 and parts_by_name(parts)[UNATTRIBUTED].bytes == 7
    assert sum(part.bytes for part in parts) == sum(layer.size for layer in history)
    assert "7 bytes in a history entry that is no layer instruction" in warnings[0]


def test_an_image_of_another_dockerfile_is_refused() -> None:
    swapped = [*HISTORY[:-1], Layer("RUN true", 1)]
    with pytest.raises(LayoutMismatch, match="a RUN layer where the Dockerfile has a COPY"):
        attribute(LAYOUT, [], swapped)
    with pytest.raises(LayoutMismatch, match="fewer"):
        attribute(LAYOUT, [], HISTORY[-3:])


def test_progress_keeps_each_vertex_duration() -> None:
    progress = BuildProgress()
    for line in (
        "#5 [release-uv 2/2] RUN case",
        "#5 0.5 downloading",
        "#5 DONE 12.3s",
        "#6 [sandbox 1/6] RUN apt-get",
        "#6 CACHED",
        "#7 [internal] load",
        "#7 DONE 0s",
    ):
        progress.feed(line)
    assert [(v.state, v.seconds) for v in progress.vertices.values()] == [("done", 12.3), ("cached", 0.0), ("done", 0.0)]


def report(parts, *, no_cache: bool = False) -> CostReport:
    return CostReport("local/x:1", "sha256:abc", "default", "buildx", "classic", sum(p.bytes for p in parts), 60.0, no_cache, parts)


def test_report_says_whether_the_times_come_from_a_cold_build() -> None:
    warm = report(attribute(LAYOUT, STEPS, HISTORY)[0])
    assert not warm.cold and "2 of 13 steps came from the build cache" in warm.timing_note() and "--no-cache" in warm.timing_note()
    cold_steps = [StepTime(s.name, "done", s.seconds) if s.state == "cached" else s for s in STEPS]
    cold = report(attribute(LAYOUT, cold_steps, HISTORY)[0], no_cache=True)
    assert cold.cold and cold.timing_note() == "times from a cold build: no step came from the build cache (--no-cache)"


def test_json_shape_and_shares() -> None:
    data = json.loads(report(attribute(LAYOUT, STEPS, HISTORY)[0]).to_json())
    assert data["schema"] == "sandbox-cost/1"
    assert set(data) == {"schema", "platform", "image", "profile", "build", "totals", "attribution", "notes", "parts"}
    assert data["totals"]["bytes"] == data["image"]["bytes"] == sum(p["bytes"] for p in data["parts"])
    assert sum(p["share_bytes"] for p in data["parts"]) == pytest.approx(1.0, abs=1e-3)
    assert set(data["parts"][0]) == {
        "name",
        "kind",
        "tools",
        "seconds",
        "bytes",
        "steps",
        "cached_steps",
        "note",
        "share_bytes",
        "share_seconds",
    }


def test_compare_shows_a_dropped_tool_and_the_shared_part_it_left(tmp_path: Path) -> None:
    old = json.loads(report(attribute(LAYOUT, STEPS, HISTORY)[0]).to_json())
    new = json.loads(json.dumps(old))
    new["parts"] = [p for p in new["parts"] if p["name"] != "uv"]
    merged = next(p for p in new["parts"] if p["name"] == "shared: init + shell")
    merged.update(name="shared: init", tools=["init"], bytes=120_000)
    changes = {c.name: c for c in compare(old, new)}
    assert changes["uv"].status == "removed" and changes["uv"].bytes_delta == -50_000
    # a one-tool part is no longer "shared": the old merged part is matched by name only
    assert changes["shared: init + shell"].status == "removed" and changes["shared: init"].status == "added"
    merged.update(name="shared: init + zsh", tools=["init", "zsh"])
    changes = {c.name: c for c in compare(old, new)}
    assert changes["shared: init + shell → shared: init + zsh"].bytes_delta == -180_000
    assert next(iter(changes)) == "shared: init + shell → shared: init + zsh"  # the largest change first


def test_load_refuses_what_is_not_a_report(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(UsageError, match="not JSON"):
        load(path)
    path.write_text('{"schema": "other"}', encoding="utf-8")
    with pytest.raises(UsageError, match="not a `sandbox cost --format json` report"):
        load(path)
    path.write_text('{"schema": "sandbox-cost/1", "parts": [{"name": "x"}]}', encoding="utf-8")
    with pytest.raises(UsageError, match="part 1 is not"):
        load(path)
    with pytest.raises(UsageError, match="cannot read"):
        load(tmp_path / "missing.json")


def test_outputs_show_names_literally() -> None:
    layout = ImageLayout(stages={"release-x": "[bold]x|y"}, final=(FinalStep("COPY", ("[bold]x|y",), "tools"),), base=())
    parts = attribute(layout, [StepTime("[release-x 1/1] RUN true", "done", 1.0)], [Layer("COPY /out/ /", 10)])[0]
    console = Console(record=True, width=200)
    show.table(report(parts), console)
    assert "[bold]x|y" in console.export_text()
    assert "| \\[bold\\]x\\|y | tool |" in show.markdown(report(parts))


@pytest.mark.parametrize(("size", "sign", "shown"), [(0, False, "0 B"), (999, False, "999 B"), (4_096, False, "4.1 kB"),
                                                     (53_018_624, False, "53.0 MB"), (-53_018_624, True, "-53.0 MB"),
                                                     (1_500, True, "+1.5 kB"), (2_000_000_000, False, "2.0 GB")])  # fmt: skip
def test_sizes_are_shown_in_decimal_units(size: int, sign: bool, shown: str) -> None:
    assert show.human(size, sign) == shown


def test_size_note_says_what_the_engines_size_means() -> None:
    parts = attribute(LAYOUT, STEPS, HISTORY)[0]
    classic = report(parts)
    assert (
        classic.size_note()
        == f"the parts add up to {classic.total_bytes} bytes; the engine reports the image as {classic.total_bytes} (+0)"
    )
    containerd = CostReport("t", "i", "default", "buildx", "containerd", 1000, 1.0, False, parts)
    assert "reports the image's compressed content (1000 bytes) instead" in containerd.size_note()
    unknown = CostReport("t", "i", "default", "buildx", "unknown", 1000, 1.0, False, parts)
    assert "could not be told" in unknown.size_note()


def test_compare_warns_when_one_build_was_cold_and_the_other_not() -> None:
    warm = report(attribute(LAYOUT, STEPS, HISTORY)[0])
    cold_old = {"platform": "linux/amd64", "build": {"cold": True}}
    assert compare_note(cold_old, warm).startswith("the old report's build was cold, this one used the cache")
    assert compare_note({"platform": "linux/amd64", "build": {"cold": False}}, warm) == ""
    assert compare_note({"platform": "linux/amd64"}, warm) == ""

"""cargo: `cargo install --locked` in a builder stage; only binaries reach the image."""

from __future__ import annotations

import pytest

from tests.integration.small_specs import load, rejected, render_data, spec_data, tool_data


def test_valid_entry_is_accepted():
    tool = load(spec_data(tool_data("cargo"))).tools[1]
    assert (tool.name, tool.version, tool.crate) == ("tokei", "12.1.2", None)


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"version": "latest"}, "tools[1].version", "moving version"),
        ({"version": 12}, "tools[1].version", "quote it"),
        ({"crate": "tokei --git https://evil"}, "tools[1].crate", "crate name"),
        ({"features": ["all"]}, "tools[1].features", "unknown key"),
    ],
)
def test_invalid_fields_are_rejected_at_their_path(changes, field, says):
    rejected(spec_data(tool_data("cargo", **changes)), field, says)


def test_builder_image_must_not_move():
    rejected(spec_data(tool_data("cargo"), builders={"cargo": "rust:latest"}), "builders.cargo", "moves")


def test_renders_a_locked_build_in_a_builder_stage_and_copies_only_binaries():
    rendered = render_data(
        spec_data(tool_data("cargo", crate="tokei-cli")),
    )
    stages = rendered.stages()
    stage = stages["cargo-tokei"]
    assert stage[0].value == ("rust:1.94.1-bookworm", "AS", "cargo-tokei")
    (run,) = [c for c in stage if c.cmd == "RUN"]
    assert "cargo install --locked --root /out tokei-cli --version 12.1.2" in run.value[0]
    assert any("target=/usr/local/cargo/registry" in f for f in run.flags)
    copies = [c for c in stages["sandbox"] if c.cmd == "COPY" and "--from=cargo-tokei" in c.flags]
    assert [c.value for c in copies] == [("/out/bin/", "/usr/local/bin/")]
    assert not any("cargo" in r for r in rendered.runs("sandbox"))


def test_builder_image_comes_from_the_spec():
    image = "rust:1.80.0-bookworm@sha256:" + "c" * 64
    rendered = render_data(spec_data(tool_data("cargo"), builders={"cargo": image}))
    assert rendered.stages()["cargo-tokei"][0].value[0] == image


def test_target_dir_is_per_architecture_and_registry_shared():
    """The stage runs on the target platform (emulated for a foreign one: rustc has no target
    std or cross linker here). Cache mounts are not per platform, and Docker 20.10's BuildKit
    does not expand ARGs in a mount's id, so the target dir (build scripts and objects of the
    stage's own arch) is split by a subdirectory the shell expands; crate sources are shared."""
    stage = render_data(spec_data(tool_data("cargo"))).stages()["cargo-tokei"]
    assert stage[0].flags == ()
    (arg,) = [c for c in stage if c.cmd == "ARG"]
    assert arg.value == ("TARGETARCH",)
    (run,) = [c for c in stage if c.cmd == "RUN"]
    assert run.flags == ("--mount=type=cache,target=/usr/local/cargo/registry", "--mount=type=cache,target=/tmp/cargo-target")
    command = " ".join(run.value[0].split())  # continuation lines joined, indentation folded
    assert command.startswith('CARGO_TARGET_DIR="/tmp/cargo-target/${TARGETARCH}" cargo install ')

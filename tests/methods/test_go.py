"""go: `go install PKG@VERSION` in a builder stage; the static binary is copied out."""

from __future__ import annotations

import pytest

from conftest import load, rejected, render_data, spec_data, tool_data


def test_valid_entry_is_accepted():
    tool = load(spec_data(tool_data("go"))).tools[1]
    assert tool.package == "mvdan.cc/sh/v3/cmd/shfmt"


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"package": "shfmt"}, "tools[1].package", "Go package path"),
        ({"package": "example.com/x@v1"}, "tools[1].package", "Go package path"),
        ({"version": "master"}, "tools[1].version", "moving version"),
        ({"version": "v1 v2"}, "tools[1].version", "exact version"),
    ],
)
def test_invalid_fields_are_rejected_at_their_path(changes, field, says):
    rejected(spec_data(tool_data("go", **changes)), field, says)


def test_package_is_required():
    rejected(spec_data(tool_data("go", drop=("package",))), "tools[1].package", "required field is missing")


def test_renders_a_static_build_in_a_builder_stage():
    rendered = render_data(spec_data(tool_data("go")))
    stages = rendered.stages()
    stage = stages["go-shfmt"]
    assert stage[0].value == ("golang:1.27.0-bookworm", "AS", "go-shfmt")
    (run,) = [c for c in stage if c.cmd == "RUN"]
    assert "CGO_ENABLED=0" in run.value[0]
    assert run.value[0].endswith("go install mvdan.cc/sh/v3/cmd/shfmt@v3.10.0")
    assert any("target=/go/pkg/mod" in f for f in run.flags)
    copies = [c for c in stages["sandbox"] if c.cmd == "COPY" and "--from=go-shfmt" in c.flags]
    assert [c.value for c in copies] == [("/out/bin/", "/usr/local/bin/")]

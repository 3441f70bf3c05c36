"""go: `go install PKG@VERSION` in a builder stage; the static binary is copied out."""

from __future__ import annotations

import pytest

from tests.integration.small_specs import load, rejected, render_data, spec_data, tool_data


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
    assert " go install mvdan.cc/sh/v3/cmd/shfmt@v3.10.0 " in run.value[0]
    assert any("target=/go/pkg/mod" in f for f in run.flags)
    copies = [c for c in stages["sandbox"] if c.cmd == "COPY" and "--from=go-shfmt" in c.flags]
    assert [c.value for c in copies] == [("/out/bin/", "/usr/local/bin/")]


def test_cross_compiles_on_the_build_platform():
    """The stage runs on the build platform (no emulation for arm64); GOOS/GOARCH name the
    target. go refuses GOBIN when cross-compiling, so `go install` writes to $GOPATH/bin
    (native) or $GOPATH/bin/GOOS_GOARCH (cross) and that directory becomes /out/bin."""
    stage = render_data(spec_data(tool_data("go"))).stages()["go-shfmt"]
    assert stage[0].flags == ("--platform=$BUILDPLATFORM",)
    (arg,) = [c for c in stage if c.cmd == "ARG"]
    assert arg.value == ("TARGETOS", "TARGETARCH")
    (run,) = [c for c in stage if c.cmd == "RUN"]
    command = run.value[0]
    assert 'GOOS="${TARGETOS}" GOARCH="${TARGETARCH}"' in command
    assert "GOBIN" not in command
    assert 'if [ -d "${bin}/${TARGETOS}_${TARGETARCH}" ]; then bin="${bin}/${TARGETOS}_${TARGETARCH}"; fi' in command
    assert command.endswith('mv "${bin}" /out/bin')


def test_build_cache_is_per_architecture_and_module_cache_shared():
    """Docker 20.10's BuildKit does not expand ARGs in a cache mount's id (measured: an
    id=...-${TARGETARCH} mount was one cache for both platforms), so the per-arch split is a
    GOCACHE subdirectory the shell expands; downloaded modules are the same for every arch."""
    (run,) = [c for c in render_data(spec_data(tool_data("go"))).stages()["go-shfmt"] if c.cmd == "RUN"]
    assert run.flags == ("--mount=type=cache,target=/root/.cache/go-build", "--mount=type=cache,target=/go/pkg/mod")
    assert 'GOCACHE="/root/.cache/go-build/${TARGETARCH}" GOMODCACHE=/go/pkg/mod ' in run.value[0]


@pytest.mark.parametrize("line", ["FROM golang:latest AS go-x", "FROM --platform=$BUILDPLATFORM golang:latest AS go-x"])
def test_lint_sees_a_latest_builder_behind_the_platform_flag(line):
    from generator.lint import own_rules

    assert [f.code for f in own_rules(line + "\n", "Dockerfile")] == ["SBX001"]

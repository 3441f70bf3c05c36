"""Any label or env value the loader accepts renders a Dockerfile that `sandbox lint` can
read: hadolint's parser is stricter than BuildKit's in places (a backslash before a quote),
and a valid spec must never fail lint on its own free text."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from generator.errors import SpecError
from generator.lint import lint
from generator.lockfile import Lock
from generator.render import render
from tests.integration.examples import examples
from tests.integration.small_specs import load, spec_data, tool_data

NASTY = "\"'\\$`;|&<>(){}[]*?!#~=%@:,./ -_aZ09é€\u00a0\u3000"
VALUE = st.one_of(
    st.sampled_from(["x\\", "\\", 'a\\"b', "x\\\\", "C:\\dir\\", "\\x", "a\\ b", '"', "'\\'"]),
    st.text(alphabet=st.sampled_from(NASTY), max_size=16),
    st.text(max_size=16),
)


@pytest.mark.parametrize("where", ["env", "label"])
@settings(max_examples=examples(40), derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=VALUE)
def test_an_accepted_value_lints_clean(where, value):
    data = spec_data()
    if where == "env":
        data["env"] = {"A": value, "B": value}
    else:
        data["image"]["labels"]["description"] = value
        data["image"]["labels"]["extra"] = {"com.example.a": value}
    try:
        spec = load(data)
    except SpecError:
        return
    findings = lint(render(spec, None, Lock()), "Dockerfile")
    assert findings == [], [str(f) for f in findings]


# -- every field whose value reaches a shell word or a LABEL key: what the loader accepts lints


def _lints_clean(data) -> None:
    try:
        spec = load(data)
    except SpecError:
        return  # refused at load time: that is one of the two allowed outcomes
    findings = lint(render(spec, None, Lock()), "Dockerfile")
    assert findings == [], [str(f) for f in findings]


WORD = "A-Za-z0-9._/=:+@~-"
#: values drawn from each field's own alphabet, with the shapes shellcheck and hadolint
#: single out (a leading '~/', '-', an assignment, a trailing '/' or '.', '..', '--')
SHAPED = st.one_of(
    st.from_regex(rf"[{WORD}]{{1,12}}", fullmatch=True),
    st.sampled_from(["~/x", "~", "~x", "-x", "a=b", "x/", "..", ".", "x.", "./x", "/x", "@x", "a--b", "a..b", "=x"]),
)
LABEL_KEY = st.one_of(
    st.from_regex(r"[a-z0-9][a-z0-9.-]{0,14}", fullmatch=True),
    st.sampled_from(["com.docker.x", "io.docker.x", "org.dockerproject.x", "a..b", "a--b", "0", "0a", "a.-b", "com.example.x"]),
)
FIELD_SETTINGS = settings(max_examples=examples(25), derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))


@FIELD_SETTINGS
@given(key=LABEL_KEY)
def test_any_accepted_label_key_lints_clean(key):
    data = spec_data()
    data["image"]["labels"]["extra"] = {key: "value"}
    _lints_clean(data)


@pytest.mark.parametrize("where", ["env", "args"])
@FIELD_SETTINGS
@given(value=SHAPED)
def test_any_accepted_script_value_lints_clean(where, value):
    tool = tool_data("script")
    tool["env" if where == "env" else "args"] = {"A": value} if where == "env" else [value, value]
    _lints_clean(spec_data(tool))


@FIELD_SETTINGS
@given(words=st.lists(SHAPED.filter(lambda w: "~" not in w), min_size=1, max_size=3))
def test_any_accepted_npm_setup_lints_clean(words):
    tool = tool_data("npm")
    tool["setup"] = words
    _lints_clean(spec_data(tool))


@pytest.mark.parametrize("verified", [True, False], ids=["sha256", "unverified"])
def test_a_script_tool_run_as_root_lints_clean(verified):
    tool = tool_data("script")
    tool["as_root"] = True
    if not verified:
        del tool["sha256"]
        tool["unverified"] = "upstream publishes no checksum"
    _lints_clean(spec_data(tool))

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
from tests.integration.small_specs import load, spec_data

NASTY = "\"'\\$`;|&<>(){}[]*?!#~=%@:,./ -_aZ09é€\u00a0\u3000"
VALUE = st.one_of(
    st.sampled_from(["x\\", "\\", 'a\\"b', "x\\\\", "C:\\dir\\", "\\x", "a\\ b", '"', "'\\'"]),
    st.text(alphabet=st.sampled_from(NASTY), max_size=16),
    st.text(max_size=16),
)


@pytest.mark.parametrize("where", ["env", "label"])
@settings(max_examples=40, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
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

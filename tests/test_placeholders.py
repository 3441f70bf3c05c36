"""generator/placeholders.py, the one definition of sandbox.yaml's placeholders: every one has
a value on every platform the spec accepts; a field refuses what it does not fill (the loader
at file:line:col: tests/bad_specs/unknown_placeholders.yaml; the JSON Schema as it is typed);
filling is one pass; and filling all but {version}, then {version} as the release script does,
gives what filling all at once gives. (That the URLs `sandbox lock` and `sandbox sbom` record
are the ones the build fetches: tests/supply/test_urls_built.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import get_args

import pytest
from hypothesis import given, settings, strategies as st

from generator import placeholders
from generator.commands.spec import schema_text
from generator.fields import Platform
from generator.methods.release import Arch
from generator.yamltree import load
from tests.integration.examples import examples
from tests.integration.marks import uses_jsonschema

ROOT = Path(__file__).resolve().parent.parent
ARCHES = get_args(Arch)


def test_every_placeholder_has_a_value_on_every_platform():
    (platform,) = [arg for arg in get_args(Platform) if hasattr(arg, "regex")]  # the pattern platforms are checked against
    accepted = [arch for arch in ("amd64", "arm64", "386", "riscv64", "s390x") if re.fullmatch(platform.regex, f"linux/{arch}")]
    assert sorted(ARCHES) == sorted(placeholders.ARCH_VALUES) == accepted
    for arch in ARCHES:
        values = placeholders.release_values("t-{version}-{uname}.tar.gz", arch, "1.0")
        assert set(values) == set(placeholders.PLACEHOLDERS)
        assert all(value and "{" not in value for value in values.values())
    assert placeholders.release_values("t-{version}-{uname}.tar.gz", "arm64", "1.0") == {
        "version": "1.0", "arch": "arm64", "uname": "aarch64", "triple_arch": "aarch64", "short": "arm64",
        "asset": "t-1.0-aarch64.tar.gz", "stem": "t-1.0-aarch64",
    }  # fmt: skip


def test_each_field_takes_known_placeholders_only():
    fields = [placeholders.RELEASE_ASSET, placeholders.RELEASE, placeholders.DEB_URL, placeholders.SCRIPT_URL, placeholders.PLAIN_URL]
    for field in fields:
        assert set(field.allowed) <= set(placeholders.PLACEHOLDERS)
    # an asset's name is filled before {asset} and {stem} exist
    assert set(placeholders.RELEASE.allowed) - set(placeholders.RELEASE_ASSET.allowed) == {"asset", "stem"}


ASSET_TAKES = "expected {version}, {arch}, {uname}, {triple_arch} or {short}"


@pytest.mark.parametrize(
    ("template", "field", "message"),
    [
        ("https://x/{Version}/{asset}", placeholders.RELEASE, "unknown placeholder {Version} (did you mean {version}?): expected "),
        ("t-{os}.tar.gz", placeholders.RELEASE_ASSET, f"unknown placeholder {{os}}: {ASSET_TAKES}"),
        ("t-{stem}.tar.gz", placeholders.RELEASE_ASSET, f"{{stem}} is not filled in a release asset's name: {ASSET_TAKES}"),
        ("t-{asset}", placeholders.RELEASE_ASSET, "{asset} is not filled in a release asset's name"),
        ("https://x/{short}.deb", placeholders.DEB_URL, "{short} is not filled in a .deb's URL: expected {version} or {arch}"),
        ("https://x/{arch}.sh", placeholders.SCRIPT_URL, "{arch} is not filled in an installer script's URL: expected {version}"),
        ("https://x/{version}.git", placeholders.PLAIN_URL, "{version} would be fetched as written: no placeholders are filled"),
        ("https://x/{}/{asset}", placeholders.RELEASE, "unknown placeholder {}"),
        ("{stem}/bin}", placeholders.RELEASE, "a '}' outside a {placeholder}"),
        ("https://x/{version/{asset}", placeholders.RELEASE, "a '{' outside a {placeholder}"),
        ("https://x/{{version}}", placeholders.RELEASE, "a '{' outside a {placeholder}"),
    ],
)
def test_a_placeholder_the_field_does_not_fill_is_refused_with_what_it_takes(template, field, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        placeholders.check(template, field)


@uses_jsonschema
def test_the_schema_flags_what_the_loader_refuses():
    import jsonschema

    validator = jsonschema.Draft202012Validator(json.loads(schema_text()))
    data = load((ROOT / "sandbox.yaml").read_text(encoding="utf-8"), "sandbox.yaml")
    index, tool = next((i, t) for i, t in enumerate(data["tools"]) if t["name"] == "ripgrep")
    assert not list(validator.iter_errors(data))
    for key, value in [("url", tool["url"].replace("{version}", "{Version}")), ("assets", {"amd64": "rg-{stem}.tar.gz"})]:
        broken = json.loads(json.dumps(data))
        broken["tools"][index][key] = value
        assert any(list(error.absolute_path)[:2] == ["tools", index] for error in validator.iter_errors(broken)), key


def test_filling_is_one_pass():
    assert placeholders.fill("{a}-{b}-{c}", {"a": "{b}", "b": "x"}) == "{b}-x-{c}"
    assert placeholders.fill("{version}{version}", {"version": "1"}) == "11"


#: what a template may hold between placeholders (the URL pattern's characters)
TEXT = st.text(alphabet="abcXYZ019._~:/?#@!+,=%-", max_size=6)
#: versions as the Version pattern takes them, with every character it allows
VERSIONS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._+~-]{0,12}", fullmatch=True)


def _template(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    piece = st.one_of(TEXT, st.sampled_from([f"{{{name}}}" for name in names]))
    return st.lists(piece, max_size=8).map("".join)


@settings(max_examples=examples(300), deadline=None)
@given(
    template=_template(placeholders.RELEASE.allowed),
    asset=st.tuples(_template(placeholders.RELEASE_ASSET.allowed), st.sampled_from(["", *placeholders.ARCHIVE_SUFFIXES])).map("".join),
    arch=st.sampled_from(ARCHES),
    version=VERSIONS,
)
def test_filling_all_but_the_version_then_the_version_is_filling_all(template, asset, arch, version):
    """What a release stage relies on: the generator fills every placeholder but {version}
    (values of {asset} and {stem} then hold {version}), the script fills {version}."""
    partly = placeholders.fill(template, placeholders.release_values(asset, arch, None))
    assert set(re.findall(r"\{(\w*)\}", partly)) <= {placeholders.FILLED_AT_BUILD}
    assert placeholders.fill_version(partly, version) == placeholders.fill(template, placeholders.release_values(asset, arch, version))


def test_the_docs_name_every_placeholder():
    text = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    assert all(f"`{{{name}}}`" in text for name in placeholders.PLACEHOLDERS)

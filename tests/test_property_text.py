"""Text that reaches a reader cannot deceive: free text of a spec with a bidirectional or
invisible character is refused at load time, and text from elsewhere (an upstream, an old
report, an SBOM) placed in Markdown keeps no live link, image or @mention and no raw line
break, control, bidirectional or invisible character."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from generator.errors import SpecError
from generator.markdown import cell
from generator.sbom.diff import SbomChange, markdown as sbom_markdown
from generator.terminal import _DECEPTIVE_RE, _SHOWN
from tests.integration.examples import examples
from tests.test_property_strings import SPEC, _render, replaced

SETTINGS = settings(max_examples=examples(200), derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))

DECEPTIVE = [chr(c) for c in (0x00AD, 0x061C, 0x180E, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2065))]
DECEPTIVE += [chr(c) for c in (*range(0x2066, 0x206A), 0xFEFF)]

#: free text of the spec: labels, env values, notes, reasons, descriptions
FREE_TEXT = [
    ("image", "labels", "title"),
    ("image", "labels", "extra", "com.example.team"),
    ("env", "GREETING"),
    ("profiles", "default", "description"),
    ("tools", 0, "description"),
    ("tools", 0, "note"),
    ("tools", 0, "disabled_reason"),
    ("base", "unpinned_reason"),
]


def test_every_deceptive_character_is_known() -> None:
    assert all(_DECEPTIVE_RE.fullmatch(c) for c in DECEPTIVE)


@pytest.mark.parametrize("path", FREE_TEXT, ids=lambda path: ".".join(map(str, path)))
@SETTINGS
@given(before=st.text(st.characters(codec="utf-8", categories=["L", "N", "Zs"]), max_size=8), hidden=st.sampled_from(DECEPTIVE))
def test_free_text_with_a_bidirectional_or_invisible_character_is_refused(path: tuple, before: str, hidden: str) -> None:
    with pytest.raises(SpecError) as refused:
        _render(replaced(SPEC, path, f"ok {before}{hidden}text"))
    assert "bidirectional and invisible characters are not allowed" in str(refused.value.problems[0].message)


def _outside_code(markdown: str) -> str:
    """What GitHub reads as Markdown: the text outside code spans (whose backtick is not
    escaped), with backslash escapes removed."""
    text = re.sub(r"(?<!\\)`[^`]*`", " ", markdown)
    return re.sub(r"\\.", " ", text)


#: a link or image ([x](y), ![x](y)), an autolink (<...>, a URL or www.), an e-mail, a mention
LIVE = re.compile(r"\]\(|<|[A-Za-z][A-Za-z0-9+.-]*://|www\.|@[A-Za-z0-9]")

hostile = st.lists(
    st.one_of(
        st.sampled_from(["[", "]", "(", ")", "!", "@", "<", ">", "|", "`", "\\", "\n", "\r", ":", "/", ".", " ", "www", "https", "x"]),
        st.sampled_from(DECEPTIVE),
        st.characters(codec="utf-8"),
    ),
    max_size=40,
).map("".join)


@SETTINGS
@given(text=hostile)
def test_a_cell_holds_no_live_link_image_or_mention(text: str) -> None:
    shown = cell(text)
    assert not LIVE.search(_outside_code(shown)), shown
    assert not _SHOWN.search(shown), shown  # no raw line break, control, bidi or invisible character
    assert "|" not in re.sub(r"\\.", "", shown), shown  # every '|' is escaped: the row keeps its cells


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("![pixel](https://tracker.example/p.png)", "!\\[pixel\\](`https://tracker.example/p.png)`"),
        ("[release notes](javascript:alert(1))", "\\[release notes\\](javascript:alert(1))"),
        ("thanks @octocat and @acme/owners", "thanks `@octocat` and `@acme/owners`"),
        ("mail security@example.com", "mail `security@example.com`"),
        ("see www.example.com", "see `www.example.com`"),
        ("a|b https://x.example/a|b", "a\\|b `https://x.example/a\\|b`"),
        ("ripgrep 15.2.0", "ripgrep 15.2.0"),
    ],
)
def test_links_images_and_mentions_from_elsewhere_are_inert(text: str, shown: str) -> None:
    assert cell(text) == shown
    # and so in every table made of such text, e.g. an SBOM's component names
    table = sbom_markdown([SbomChange("added", "tool", text, "", "1.0")])
    assert f"| {shown} |" in table

"""Any string in any string field of a spec either is rejected by validation, or renders
a Dockerfile with exactly the structure of the unmodified spec: same instructions, same
flags, same shell operators and words in every RUN, and free text round-tripping
through LABEL/ENV quoting. Nothing a spec author types can add an instruction, a RUN,
a shell command or a line continuation.
"""

from __future__ import annotations

import copy
import re
import shlex
from pathlib import Path
from typing import Any

import dockerfile
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from pydantic import ValidationError

from generator.errors import Problem, SpecError
from generator.loader import parse
from generator.lockfile import Lock
from generator.render import render
from generator.spec import Spec
from tests.integration.examples import examples
from tests.integration.small_specs import SAMPLE_TOOLS, SHA_B, spec_data, to_yaml

#: a small spec that still touches every part of the template and every install method
SPEC: dict[str, Any] = spec_data(
    *SAMPLE_TOOLS.values(),
    {
        "name": "fd",
        "method": "release",
        "version": "10.2.0",
        "description": "find, but friendlier",
        "note": "upstream ships a checksum file per asset",
        "url": "https://example.com/fd/v{version}/{asset}",
        "assets": {"amd64": "fd-v{version}-x86_64.zip", "arm64": "fd-v{version}-aarch64.zip"},
        "tree": "{stem}",
        "binaries": [{"path": "fd", "name": "fd"}],
        "checksum_file": {"url": "https://example.com/fd/v{version}/{asset}.sha256", "format": "bsd"},
        "check": ["fd", "--version"],
    },
    {
        "name": "vendor",
        "method": "apt",
        "packages": ["vendor-cli"],
        "unpinned_reason": "the vendor publishes no stable pins",
        "repo": {
            "url": "https://apt.example.com/debian",
            "suite": "stable",
            "components": ["main"],
            "key_url": "https://apt.example.com/key.gpg",
            "key_unverified": "the vendor rotates its key",
        },
    },
    {
        "name": "late",
        "method": "script",
        "version": "2.0.0",
        "url": "https://example.com/late-{version}.sh",
        "unverified": "upstream does not publish a digest",
        "runs_upstream_code": True,
        "as_root": True,
        "env": {"LATE_HOME": "/opt/late"},
    },
    user={"name": "dev", "uid": 1001, "gid": 1002, "shell": "/usr/bin/zsh", "workspace": "/workspace"},
    env={"TZ": "UTC", "GREETING": "hello world"},
    path=["~/.local/bin", "/opt/tools/bin"],
    files=[{"src": "zshrc", "dest": "/home/dev/.zshrc", "user_owned": True}],
    runtime={"volumes": ["/data"], "healthcheck": {"path": "/health"}},
    builders={"cargo": "rust:1.80.0-bookworm", "go": "golang:1.23.0-bookworm"},
    profiles={"default": {"output": "Dockerfile", "description": "all of it"}},
)
SPEC["image"]["labels"]["extra"] = {"com.example.team": "platform"}
SPEC["base"].update({"digest": "sha256:" + SHA_B, "packages": ["ca-certificates", "curl", "git", "unzip"]})


def _render(data: dict[str, Any]) -> str:
    """What the loader does after YAML: strict validation, then the cross-field checks.

    The YAML step is skipped in the loop (it only turns text into these same dicts and
    costs most of the time); test_the_loader_agrees_with_direct_validation keeps that honest.
    """
    try:
        spec = Spec.model_validate(data, strict=True)
    except ValidationError as exc:
        raise SpecError([Problem("sandbox.yaml", 1, 1, "", str(exc))]) from None
    issues = list(spec.issues())
    if issues:
        raise SpecError([Problem("sandbox.yaml", 1, 1, ".".join(map(str, loc)), msg) for loc, msg in issues])
    return render(spec, None, Lock())


BASELINE_TEXT = _render(SPEC)
BASELINE = list(dockerfile.parse_string(BASELINE_TEXT))


def string_paths(node: Any, path: tuple = ()) -> list[tuple]:
    """Every string value (and every mapping key) in the spec data, as paths."""
    found: list[tuple] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((*path, ("key", key)))
            found += string_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += string_paths(value, (*path, index))
    elif isinstance(node, str):
        found.append(path)
    return found


def replaced(data: dict[str, Any], path: tuple, value: str) -> dict[str, Any]:
    data = copy.deepcopy(data)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if isinstance(last, tuple):  # a mapping key: keep the order, change the name
        items = [(value if k == last[1] else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)
    else:
        parent[last] = value
    return data


def _group(path: tuple) -> str:
    """Fields are fuzzed in groups: the image, the base, the rest of the top level, env,
    and the tools of each install method."""
    head = path[0] if not isinstance(path[0], tuple) else path[0][1]
    if head == "tools" and len(path) > 1 and isinstance(path[1], int):
        return f"tools:{SPEC['tools'][path[1]]['method']}"
    return str(head) if head in ("image", "base", "env") else "top-level"


PATHS = string_paths(SPEC)
GROUPS: dict[str, list[tuple]] = {}
for _path in PATHS:
    GROUPS.setdefault(_group(_path), []).append(_path)


def shell_tokens(script: str) -> list[str]:
    """Words and operators of a shell script, as a POSIX shell would split them."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def _unquote(word: str) -> str:
    """A Dockerfile double-quoted word back to its value (the renderer's quoting)."""
    assert word.startswith('"') and word.endswith('"') and len(word) >= 2, word
    return re.sub(r"\\(.)", r"\1", word[1:-1], flags=re.S)


#: RUN scripts of the baseline, tokenized once
_BASELINE_TOKENS = {c.value[0]: shell_tokens(c.value[0]) for c in BASELINE if c.cmd == "RUN" and not c.json}


def _operators(tokens: list[str]) -> list[str]:
    return [t for t in tokens if t and set(t) <= set("();<>|&")]


#: files/sandbox-install-release's options and how many values each takes, read from its
#: argument loop: a release stage writes a fact once or once per platform, as the spec's values
#: are the same on every platform or not, so its words are held to the script's grammar
#: rather than to the baseline's count
RELEASE_SCRIPT = Path(__file__).resolve().parent.parent / "files" / "sandbox-install-release"
RELEASE_OPTIONS = {
    option: int(count or 0) for option, count in re.findall(r"^ +(--[a-z0-9-]+)\) (?:needs (\d) )?", RELEASE_SCRIPT.read_text(), re.M)
}


def _release_options(tokens: list[str], old_tokens: list[str]) -> None:
    """The words after the command and the tool are options of the script, each with its values."""
    assert tokens[0] == old_tokens[0] and len(tokens) > 2 and not tokens[1].startswith("-"), tokens
    words = tokens[2:]
    while words:
        option, words = words[0], words[1:]
        assert option in RELEASE_OPTIONS, (option, tokens)
        count = RELEASE_OPTIONS[option]
        assert len(words) >= count and not any(word.startswith("--") for word in words[:count]), (option, tokens)
        words = words[count:]


def check_structure(text: str, data: dict[str, Any]) -> None:
    commands = list(dockerfile.parse_string(text))
    assert [c.cmd for c in commands] == [c.cmd for c in BASELINE], "instructions added, lost or reordered"
    for new, old in zip(commands, BASELINE, strict=True):
        assert len(new.flags) == len(old.flags), (new.original, old.original)
        assert new.json == old.json, new.original
        if new.cmd in (
            "ENV",
            "LABEL",
            "CMD",
            "ENTRYPOINT",
            "HEALTHCHECK",
            "COPY",
            "FROM",
            "USER",
            "ARG",
            "EXPOSE",
            "VOLUME",
            "WORKDIR",
            "SHELL",
        ):
            assert len(new.value) == len(old.value), (new.original, old.original)
        if new.cmd == "RUN" and not new.json and new.value[0] not in _BASELINE_TOKENS:
            tokens, old_tokens = shell_tokens(new.value[0]), _BASELINE_TOKENS[old.value[0]]
            assert _operators(tokens) == _operators(old_tokens), new.original
            if old_tokens[0] == RELEASE_SCRIPT.name:
                _release_options(tokens, old_tokens)
            else:
                assert len(tokens) == len(old_tokens), new.original
    # free text lands in LABEL / ENV values, exactly
    labels = dict(zip(*[iter(next(c for c in commands if c.cmd == "LABEL").value)] * 2, strict=True))
    for key, value in data["image"]["labels"].items():
        if key == "extra":
            for extra_key, extra_value in value.items():
                assert _unquote(labels[extra_key]) == extra_value
        else:
            assert _unquote(labels[f"org.opencontainers.image.{key}"]) == value
    env_command = [c for c in commands if c.cmd == "ENV"][-1]
    env = dict(zip(*[iter(env_command.value)] * 2, strict=True))
    for key, value in data["env"].items():
        assert _unquote(env[key]) == value


def test_the_loader_agrees_with_direct_validation():
    assert render(parse(to_yaml(SPEC), "sandbox.yaml"), None, Lock()) == BASELINE_TEXT
    bad = replaced(SPEC, ("tools", 1, "packages", 0), "jq; id")
    with pytest.raises(SpecError):
        parse(to_yaml(bad), "sandbox.yaml")
    with pytest.raises(SpecError):
        _render(bad)


def test_baseline_covers_every_method_and_parses():
    assert {t["method"] for t in SPEC["tools"]} >= set(SAMPLE_TOOLS)
    check_structure(BASELINE_TEXT, SPEC)
    assert len(PATHS) > 80


def test_structure_check_catches_an_injected_instruction():
    """The oracle itself: a renderer that did not quote would be caught."""
    broken = BASELINE_TEXT.replace('org.opencontainers.image.title="', 'org.opencontainers.image.title="x"\nRUN id\nLABEL a="', 1)
    with pytest.raises(AssertionError):
        check_structure(broken, SPEC)
    unquoted = BASELINE_TEXT.replace("npm install --global", "npm install --global x; id;", 1)
    with pytest.raises(AssertionError):
        check_structure(unquoted, SPEC)
    assert "--archive zip \\\n" in BASELINE_TEXT
    split = BASELINE_TEXT.replace("--archive zip \\\n", "--archive zip id \\\n", 1)  # a value read as two words
    with pytest.raises(AssertionError):
        check_structure(split, SPEC)


NASTY = list("\"'\\$`;|&<>(){}[]*?!#~=%@:,./ \t\n\r\x00-_aZ09é€\u2028")
ANY_TEXT = st.one_of(
    st.text(),
    # printable text gets past the control-character check into free-text fields
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs"))),
    st.text(alphabet=st.sampled_from(NASTY)),
    st.sampled_from(
        [
            "latest",
            "",
            " ",
            "\\",
            '"',
            "$HOME",
            "${PATH}",
            "a\\\nRUN id",
            "x\nRUN id",
            "'; id; '",
            "$(id)",
            "`id`",
            "a b",
            "--privileged",
            "\x00",
            "\u2028",
            "\\\\",
            '\\"',
            "a\\",
            "{version}",
        ]
    ),
)


def original(path: tuple) -> str:
    node: Any = SPEC
    for part in path[:-1]:
        node = node[part]
    return path[-1][1] if isinstance(path[-1], tuple) else node[path[-1]]


@st.composite
def values_for(draw, path: tuple) -> str:
    """Arbitrary text, or the field's valid value with nasty text spliced in (which gets
    past most patterns' first character and exercises their edges)."""
    if draw(st.booleans()):
        return draw(ANY_TEXT)
    base = original(path)
    at = draw(st.integers(0, len(base)))
    return base[:at] + draw(st.text(alphabet=st.sampled_from(NASTY), min_size=1, max_size=4)) + base[at:]


@pytest.mark.parametrize("group", sorted(GROUPS))
@settings(max_examples=examples(200), derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_string_is_rejected_or_rendered_safely(group, data):
    path = data.draw(st.sampled_from(GROUPS[group]), label="field")
    value = data.draw(values_for(path), label="value")
    spec = replaced(SPEC, path, value)
    try:
        text = _render(spec)
    except SpecError:
        return
    check_structure(text, spec)

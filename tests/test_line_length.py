"""A generated Dockerfile reads well in a pull request: no line longer than LINE_LIMIT in any
committed output, long values continued without changing them, and a one-tool version bump
touching only a few short lines."""

from __future__ import annotations

import copy
import difflib
import io
from pathlib import Path

import dockerfile
import pytest
from ruamel.yaml import YAML

from generator.filters import LINE_LIMIT, fold_word
from generator.lint import lint
from generator.loader import parse
from generator.lockfile import Lock
from generator.render import render
from tests.integration.small_specs import render_data, spec_data

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = sorted([*ROOT.glob("Dockerfile*"), *ROOT.glob("examples/*/Dockerfile*")])


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_committed_line_is_longer_than_the_limit(path: Path):
    long = [(n, len(line)) for n, line in enumerate(path.read_text().splitlines(), 1) if len(line) > LINE_LIMIT]
    assert not long, f"{path.relative_to(ROOT)}: lines over {LINE_LIMIT} characters (line, length): {long}"


def test_the_committed_outputs_are_all_checked():
    names = {str(p.relative_to(ROOT)) for p in COMMITTED}
    assert {"Dockerfile", "Dockerfile.minimal", "examples/debian/Dockerfile"} <= names


LONG_TEXT = "Ubuntu 24.04 sandbox for the opencode agent: a non-root user, zsh + starship, Node/Python/Go via mise, " * 2


def _final_config(text: str) -> dict[str, list]:
    """ENV, LABEL and VOLUME of the final stage, as BuildKit's parser reads them."""
    found: dict[str, list] = {}
    for command in dockerfile.parse_string(text):
        if command.cmd in ("ENV", "LABEL", "VOLUME"):
            found.setdefault(command.cmd, []).extend(value.strip('"') for value in command.value)
    return found


def test_long_values_are_continued_and_come_back_unchanged():
    volumes = [f"/home/opencode/.local/share/tool-{i}/data" for i in range(5)]
    data = spec_data(
        env={"LONG_TEXT": LONG_TEXT.strip()},
        path=[f"~/.local/share/tool-{i}/bin" for i in range(6)],
        runtime={"volumes": volumes},
    )
    data["image"]["labels"]["description"] = LONG_TEXT.strip()
    rendered = render_data(data)
    assert max(len(line) for line in rendered.text.splitlines()) <= LINE_LIMIT
    config = _final_config(rendered.text)
    env = dict(zip(config["ENV"][::2], config["ENV"][1::2], strict=True))
    assert env["LONG_TEXT"] == LONG_TEXT.strip()
    assert env["SANDBOX_DATA_DIRS"] == ":".join(volumes)
    assert env["PATH"] == ":".join(f"/home/opencode/.local/share/tool-{i}/bin" for i in range(6)) + ":${PATH}"
    labels = dict(zip(config["LABEL"][::2], config["LABEL"][1::2], strict=True))
    assert labels["org.opencontainers.image.description"] == LONG_TEXT.strip()
    assert config["VOLUME"] == volumes


@pytest.mark.parametrize("word", ['"short"', '"' + "a " * 80 + '"', '"' + ":".join(["/x/y/z"] * 40) + '"'])
def test_fold_word_keeps_every_character(word: str):
    folded = fold_word(word, 10)
    assert folded.replace("\\\n", "") == word
    assert all(len(line) + 2 <= LINE_LIMIT for line in folded.splitlines())


def _changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] == "-" and not line.startswith("---")]


#: one release tool of each kind: checksum file, pinned digests, unverified, raw with a bsd file
BUMPED = ("ripgrep", "opencode", "bat", "yq")


@pytest.fixture(scope="module")
def default_spec():
    yaml = YAML()
    text = (ROOT / "sandbox.yaml").read_text()
    return yaml, yaml.load(text), render(parse(text, str(ROOT / "sandbox.yaml")), "full", Lock())


@pytest.mark.parametrize("name", BUMPED)
def test_a_release_version_bump_changes_at_most_six_short_lines(default_spec, name: str):
    """The version (and, when pinned, each digest) changes; nothing else in the file."""
    yaml, data, before = default_spec
    bumped = copy.deepcopy(data)
    (tool,) = [t for t in bumped["tools"] if t["name"] == name]
    assert tool["method"] == "release"
    tool["version"] = f"{tool['version']}9"
    for arch in tool.get("sha256") or {}:
        tool["sha256"][arch] = "f" * 64
    buffer = io.StringIO()
    yaml.dump(bumped, buffer)
    after = render(parse(buffer.getvalue(), str(ROOT / "sandbox.yaml")), "full", Lock())
    changed = _changed_lines(before, after)
    assert 1 <= len(changed) <= 6, changed
    assert all(len(line) <= 100 for line in changed), changed


def test_realistic_long_inputs_of_each_method_stay_within_the_limit():
    """Names and URLs as long as real ones get (Docker's apt repository, a deep Go module
    path, a long crate, a nested git destination, a pinned release) fit; spec free text is
    folded or wrapped."""
    docker_repo = {
        "url": "https://download.docker.com/linux/ubuntu",
        "suite": "noble",
        "components": ["stable"],
        "key_url": "https://download.docker.com/linux/ubuntu/gpg",
        "key_sha256": "1500c1f56fa9e26b9b8f42452a553675796ade0807cdce11975eb98170b3a570",
    }
    tools = [
        {"name": "docker-ce-cli", "method": "apt", "packages": ["docker-ce-cli=5:27.3.1-1~ubuntu.24.04~noble"],
         "repo": docker_repo},
        {"name": "golangci-lint", "method": "go", "version": "v2.1.6",
         "package": "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"},
        {"name": "cargo-deny-and-more", "method": "cargo", "version": "0.18.2", "crate": "cargo-llvm-cov-extended-tools"},
        {"name": "zsh-syntax-highlighting", "method": "git", "url": "https://github.com/zsh-users/zsh-syntax-highlighting.git",
         "commit": "5eb677bb0fa9a3e60f0eff031dc13926e093df92", "dest": "~/.oh-my-zsh/custom/plugins/zsh-syntax-highlighting"},
        {"name": "cargo-nextest", "method": "release", "version": "0.9.143",
         "url": "https://github.com/nextest-rs/nextest/releases/download/cargo-nextest-{version}/{asset}",
         "assets": {"amd64": "cargo-nextest-{version}-x86_64-unknown-linux-musl.tar.gz",
                    "arm64": "cargo-nextest-{version}-aarch64-unknown-linux-gnu.tar.gz"},
         "binaries": [{"path": "cargo-nextest", "name": "cargo-nextest"}],
         "sha256": {"amd64": "a" * 64, "arm64": "b" * 64},
         "checksum_file": {"url": "https://github.com/nextest-rs/nextest/releases/download/cargo-nextest-{version}/{stem}.sha256"}},
    ]  # fmt: skip
    data = spec_data(*tools, base={"image": "ubuntu", "tag": "24.04", "packages": ["ca-certificates", "curl", "git"]})
    data["tools"][0]["packages"] += ["cargo", "golang-go"]
    data["tools"][0]["provides"] += ["cargo", "go"]
    rendered = render_data(data)
    long = [line for line in rendered.text.splitlines() if len(line) > LINE_LIMIT]
    assert not long, long
    assert lint(rendered.text, "Dockerfile") == []

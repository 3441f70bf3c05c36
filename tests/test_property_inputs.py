"""Property tests beyond string values: hostile YAML keys (through the real YAML layer),
spec file names and command-line arguments. Whatever is drawn, a command exits with one of
its documented codes (never 70), writes nothing outside its directory, and every line it
prints is one line without control characters."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from generator.cli import main
from generator.errors import SpecError
from generator.loader import parse
from generator.terminal import has_controls
from tests.integration.examples import examples
from tests.integration.small_specs import spec_data, to_yaml, tool_data

SETTINGS = settings(max_examples=examples(120), derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
NASTY = "\"'\\$`;|&<>(){}[]*?!#~=%@:,./ \t\n\r\x00\x1b\x7f\x85\u2028-_aZ09é€[/]"
TEXT = st.one_of(st.text(max_size=20), st.text(alphabet=st.sampled_from(NASTY), max_size=12))


def _printed_safely(text: str) -> None:
    for line in text.splitlines():
        assert not has_controls(line.replace("\t", " ")), repr(line)


@pytest.mark.parametrize("where", ["top", "env", "labels", "tool", "profiles"])
@SETTINGS
@given(key=TEXT)
def test_any_key_is_refused_or_read_through_yaml(where, key):
    data = spec_data(tool_data("npm"))
    if where == "top":
        data[key] = "x"
    elif where == "env":
        data["env"] = {key: "x"}
    elif where == "labels":
        data["image"]["labels"]["extra"] = {key: "x"}
    elif where == "tool":
        data["tools"][1][key] = "x"
    else:
        data["profiles"] = {key: {"output": "Dockerfile"}}
    try:
        text = to_yaml(data)
    except Exception:  # noqa: BLE001 - the emitter refuses some keys (e.g. lone surrogates): nothing to test
        return
    try:
        spec = parse(text, "s.yaml")
    except SpecError as exc:
        assert exc.problems
        for problem in exc.problems:
            shown = str(problem)
            assert "\n" not in shown and not has_controls(shown)
        return
    # accepted: the key is one the models allow, read back as written
    if where == "env":
        assert list(spec.env) == [key]
    elif where == "profiles":
        assert list(spec.profiles) == [key]


def _run(argv: list[str], directory: Path, env: dict[str, str] | None = None) -> int:
    old = Path.cwd()
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.chdir(directory)
    os.environ.update(env or {})
    try:
        return main(argv)
    finally:
        os.chdir(old)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _tree(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*")}


FILE_NAME = st.text(alphabet=st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(
    lambda name: name not in (".", "..") and len(name.encode("utf-8")) < 200
)


@SETTINGS
@given(name=FILE_NAME)
def test_any_spec_file_name_generates_or_is_refused(name, capsys):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        (root / name).write_text(to_yaml(spec_data()), encoding="utf-8")
        code = _run(["--spec", name, "generate", "--no-result-cache"], root)
        out, err = capsys.readouterr()
        assert code in (0, 2), err
        _printed_safely(out + err)
        assert _tree(Path(tmp)) <= {"project", f"project/{name}", "project/Dockerfile"}
        if code == 0:
            header = (root / "Dockerfile").read_text(encoding="utf-8").splitlines()[:3]
            assert all(line.startswith("#") for line in header if line)


ARG = st.one_of(TEXT, st.sampled_from(["nan", "inf", "-inf", "0", "-1", "1e309", "9" * 30, "7d", "-7d", "", "--help"]))


@SETTINGS
@given(
    command=st.sampled_from(
        [["generate", "--profile"], ["list", "--profile"], ["sbom", "--profile"], ["schema", "--output"],
         ["sbom", "--output"], ["build", "--timeout"], ["build", "--tag"], ["test"], ["pull", "--retry-delay"],
         ["pull", "--tag"], ["outdated", "--min-age"], ["lock", "--timeout"], ["update", "--changelog"]]
    ),
    value=ARG,
    epoch=st.one_of(st.none(), ARG),
)  # fmt: skip
def test_any_argument_value_is_a_documented_exit(command, value, epoch, capsys):
    env = {
        "SANDBOX_DOCKER_CLI": "/nonexistent/docker",  # nothing reaches an engine
        "SANDBOX_NO_CACHE": "1",
        **{f"SANDBOX_UPSTREAM_{n}": "http://127.0.0.1:9" for n in ("GITHUB_API", "GITHUB", "PYPI", "NPM", "REGISTRY")},
    }
    if epoch is not None and "\x00" not in epoch:
        env["SOURCE_DATE_EPOCH"] = epoch
    if "\x00" in value:
        return  # no argv can hold a NUL
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        (root / "sandbox.yaml").write_text(to_yaml(spec_data()), encoding="utf-8")
        code = _run([*command, value], root, env)
        _, err = capsys.readouterr()
        assert code in (0, 1, 2, 3), err
        _printed_safely(err)
        assert "Traceback" not in err
        assert all(p.startswith("project") for p in _tree(Path(tmp)))

"""sandbox.schema.json as an editor uses it: the committed specs pass it, and a value the
loader refuses for its form (a short sha256, a path with a space, a moving image tag word
aside) is already flagged by the schema's patterns, where the editor shows it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from generator.commands.spec import schema_text
from generator.errors import SpecError
from generator.loader import parse
from generator.yamltree import load
from tests.integration.marks import uses_jsonschema
from tests.integration.small_specs import to_yaml

if TYPE_CHECKING:
    import jsonschema

pytestmark = uses_jsonschema

ROOT = Path(__file__).resolve().parent.parent
SPECS = [ROOT / "sandbox.yaml", *sorted((ROOT / "examples").glob("*/sandbox.yaml"))]


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    import jsonschema

    schema = json.loads(schema_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _data(path: Path) -> dict:
    return load(path.read_text(encoding="utf-8"), path.name)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_committed_specs_pass_the_schema(validator, path: Path):
    assert [error.message for error in validator.iter_errors(_data(path))] == []


def _tool(data: dict, name: str) -> tuple[int, dict]:
    return next((index, tool) for index, tool in enumerate(data["tools"]) if tool["name"] == name)


def _short_sha256(data: dict) -> list:
    index, tool = _tool(data, "opencode")
    tool["sha256"]["amd64"] = "abc"
    return ["tools", index]  # a tool is one of the methods' schemas: flagged at the tool


def _shell_in_a_version(data: dict) -> list:
    index, tool = _tool(data, "opencode")
    tool["version"] = "1.0;id"
    return ["tools", index]


def _space_in_a_path(data: dict) -> list:
    data["user"]["workspace"] = "~/my work"
    return ["user", "workspace"]


def _another_users_tilde(data: dict) -> list:
    data["runtime"]["volumes"] = ["~root/.ssh"]
    return ["runtime", "volumes", 0]


def _platform(data: dict) -> list:
    data["platforms"] = ["linux/riscv64"]
    return ["platforms", 0]


@pytest.mark.parametrize("breaks", [_short_sha256, _shell_in_a_version, _space_in_a_path, _another_users_tilde, _platform])
def test_a_malformed_value_is_flagged_by_the_schema_and_refused_by_the_loader(validator, breaks):
    data = _data(ROOT / "sandbox.yaml")
    where = breaks(data)
    flagged = [list(error.absolute_path) for error in validator.iter_errors(data)]
    assert any(path[: len(where)] == where for path in flagged), flagged
    with pytest.raises(SpecError) as refused:
        parse(to_yaml(data), "sandbox.yaml")
    assert any(problem.message.startswith("expected ") for problem in refused.value.problems), refused.value

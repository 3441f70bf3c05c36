"""The image layout `sandbox cost` attributes with: built from the generator's own data, it
must name every final-stage layer instruction of the rendered Dockerfile, in order, and every
tool stage. The rendered text is parsed here only to check that."""

from __future__ import annotations

import re

import pytest

from generator.loader import load_spec
from generator.lockfile import Lock
from generator.render import instructions, layout, render
from tests.test_golden import CASES, SPECS

_FROM = re.compile(r"^FROM\s+(?:--platform=\S+\s+)?\S+\s+AS\s+(\S+)", re.IGNORECASE | re.MULTILINE)


def stage_texts(dockerfile: str) -> dict[str, str]:
    """Each stage's text, by name."""
    starts = list(_FROM.finditer(dockerfile))
    return {
        match[1]: dockerfile[match.end() : starts[index + 1].start() if index + 1 < len(starts) else len(dockerfile)]
        for index, match in enumerate(starts)
    }


@pytest.mark.parametrize(("name", "profile"), CASES)
def test_layout_matches_the_rendered_stages(name: str, profile: str) -> None:
    spec = load_spec(SPECS[name])
    lock = Lock.beside(SPECS[name])
    text = render(spec, profile, lock)
    found = layout(spec, profile, lock)
    stages = stage_texts(text)
    assert [step.instruction for step in found.final] == instructions(stages[found.final_stage])
    assert list(found.base) == instructions(stages[found.base_stage])
    tool_stages = set(stages) - {found.base_stage, found.final_stage, found.release_file_stage}
    assert tool_stages <= set(found.stages), "a stage no tool owns"
    enabled = {tool.name for tool in spec.tools_for(profile)}
    assert set(found.stages.values()) == enabled
    # every COPY --from of a tool's stage is owned by that tool, and so is the COPY of its
    # transitive lock's files (locks/TOOL/...) out of the build context
    copies = re.findall(r"^COPY (?:--chown=\S+ )?(?:--from=(\S+) |\\\n\s+locks/([^/]+)/)", stages[found.final_stage], re.MULTILINE)
    owned = [step.tools for step in found.final if step.instruction == "COPY" and step.role == "tools"]
    assert owned == [(found.stages[stage] if stage else tool,) for stage, tool in copies if stage != found.release_file_stage]


def test_merged_apt_run_is_owned_by_every_apt_tool_in_it() -> None:
    spec = load_spec(SPECS["default"])
    found = layout(spec, "full", Lock.beside(SPECS["default"]))
    apt = [tool.name for tool in spec.tools_for("full") if tool.method == "apt"]
    merged = [step for step in found.final if len(step.tools) > 1]
    assert len(apt) > 1 and [step.tools for step in merged] == [tuple(apt)]


def test_instructions_skip_comments_and_continuation_lines() -> None:
    text = "# RUN in a comment\nRUN a \\\n    && COPY not-an-instruction \\\n    b\nARG X\ncopy a b\nWORKDIR /w\n"
    assert instructions(text) == ["RUN", "COPY", "WORKDIR"]

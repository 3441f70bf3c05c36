"""The SBOM the image carries: the Dockerfile COPYs it read-only, the build context holds
exactly what `sandbox sbom` prints, and `sandbox test` knows the SBOM of its spec from another."""

from __future__ import annotations

import json
from pathlib import Path

from generator.docker.context import write_context
from generator.loader import load_spec
from generator.lockfile import Lock
from generator.paths import SBOM_CONTEXT_PATH, SBOM_IMAGE_PATH
from generator.render import render
from generator.sbom.carried import sbom_problems
from generator.sbom.document import render as render_sbom
from tests.integration.cli import sandbox_in_process

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "sandbox.yaml"


def test_dockerfile_copies_the_sbom_read_only_into_the_last_layer() -> None:
    text = render(load_spec(SPEC), "full", Lock.beside(SPEC))
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    # into the release file's stage, whose /out/ is the final stage's last COPY
    stage = lines.index("FROM base AS release-file")
    assert lines[stage + 1] == f"COPY {SBOM_CONTEXT_PATH} /out{SBOM_IMAGE_PATH}"
    assert f"&& chmod 0444 /out{SBOM_IMAGE_PATH}" in text
    assert lines[-1] == "COPY --from=release-file /out/ /"


def test_context_holds_what_sandbox_sbom_prints(tmp_path: Path) -> None:
    spec = load_spec(SPEC)
    printed = sandbox_in_process("--spec", SPEC, "sbom", "--profile", "minimal", timeout=120)
    assert printed.returncode == 0, printed.stderr
    made = render_sbom(spec, Lock.beside(SPEC), "minimal")
    assert made == printed.stdout
    listed = write_context(tmp_path, spec, "FROM scratch\n", ROOT, made)
    assert SBOM_CONTEXT_PATH in listed
    assert (tmp_path / SBOM_CONTEXT_PATH).read_text(encoding="utf-8") == made
    assert f"!{SBOM_CONTEXT_PATH}" in (tmp_path / ".dockerignore").read_text(encoding="utf-8").splitlines()


def test_the_sbom_of_the_spec_matches_and_others_do_not() -> None:
    spec = load_spec(SPEC)
    lock = Lock.beside(SPEC)
    full = render_sbom(spec, lock, "full")
    assert sbom_problems(full, spec, "full") == []
    assert sbom_problems(full, spec, "minimal")[0] == "describes profile full, not minimal"
    minimal_tools = {tool.name for tool in spec.tools_for("minimal")}
    missing = sorted({tool.name for tool in spec.tools_for("full")} - minimal_tools)
    problems = sbom_problems(render_sbom(spec, lock, "minimal"), spec, "full")
    assert problems[-1] == "tools differ from the spec's: missing " + ", ".join(missing)
    assert sbom_problems(full, spec, "minimal")[-1] == "tools differ from the spec's: not in the spec " + ", ".join(missing)
    document = json.loads(full)
    document["metadata"]["component"]["name"] = "someone/else"
    assert sbom_problems(json.dumps(document), spec, "full") == [f"describes image 'someone/else', not {spec.image.name!r}"]
    assert sbom_problems("{}", spec, "full") == ["not a CycloneDX document"]
    assert sbom_problems("not json", spec, "full")[0].startswith("not JSON")

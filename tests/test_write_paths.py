"""The path rule of generate also holds for every other file a command writes:
`update --changelog`, the lock written by `lock` and `update`, and `sbom --output`. A bad
target is a usage error naming the option before anything is asked or written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.integration.cli import sandbox_in_process
from tests.integration.small_specs import spec_data, to_yaml


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    data = spec_data(files=[{"src": "zshrc", "dest": "/etc/zsh/zshrc"}])
    (root / "sandbox.yaml").write_text(to_yaml(data), encoding="utf-8")
    (root / "zshrc").write_text("# zshrc\n", encoding="utf-8")
    (root / "Dockerfile").write_text("# generated\n", encoding="utf-8")
    monkeypatch.chdir(root)
    # a run that got past the check would try these and fail differently (exit 3)
    for name in ("GITHUB_API", "GITHUB", "PYPI", "NPM", "REGISTRY", "GOPROXY", "CRATES"):
        monkeypatch.setenv(f"SANDBOX_UPSTREAM_{name}", "http://127.0.0.1:9")
    return root


def _state(root: Path) -> dict[str, tuple[bytes, int]]:
    outside = root.parent
    return {
        str(p.relative_to(outside)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(outside.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["update", "--changelog", "sandbox.yaml"], "error: --changelog: 'sandbox.yaml' is the spec itself (sandbox.yaml); "
            "writing it would overwrite an input"),
        (["update", "--changelog", "sandbox.lock"], "error: --changelog: 'sandbox.lock' is the lock file (sandbox.lock)"),
        (["update", "--changelog", "zshrc"], "error: --changelog: 'zshrc' is the source of files[0] (zshrc)"),
        (["update", "--changelog", "./Dockerfile"], "error: --changelog: 'Dockerfile' is the output of profile default (Dockerfile)"),
        (["update", "--changelog", "../project/sandbox.yaml"], "error: --changelog: '../project/sandbox.yaml' is the spec itself"),
        (["update", "--changelog", "../missing/CHANGES.md"], "the directory"),
        (["update", "--changelog", "/dev/null"], "'/dev/null' is a character device"),
        (["sbom", "--output", "sandbox.yaml"], "error: --output: 'sandbox.yaml' is the spec itself"),
        (["sbom", "--output", "../project/sandbox.lock"], "error: --output: '../project/sandbox.lock' is the lock file"),
    ],
)  # fmt: skip
def test_a_file_named_on_the_command_line_passes_the_path_rule(project, argv, message, fails_if_blocked):
    before = _state(project)
    result = sandbox_in_process(*argv)
    assert result.returncode == 2
    err = result.stderr
    assert message in err and "Traceback" not in err
    assert _state(project) == before


@pytest.mark.parametrize("command", [["lock"], ["update"]])
def test_a_lock_that_is_a_symlink_out_of_the_project_is_not_written_through(project, command, fails_if_blocked):
    outside = project.parent / "elsewhere.lock"
    outside.write_text("artifacts: {}\nimages: {}\n", encoding="utf-8")
    os.symlink(outside, project / "sandbox.lock")
    before = _state(project)
    result = sandbox_in_process(*command)
    assert result.returncode == 2
    err = result.stderr
    assert f"error: sandbox.lock: 'sandbox.lock' resolves to {outside}, outside the project directory" in err
    assert _state(project) == before and (project / "sandbox.lock").is_symlink()


@pytest.mark.parametrize("where", ["CHANGES.md", "../artifacts/CHANGES.md"])
def test_a_changelog_or_sbom_may_go_inside_or_outside_the_project(project, where):
    """The user names them on the command line (CI writes them to a temporary directory);
    a spec never names them."""
    from generator.output import CHANGELOG
    from generator.project import Project

    (project.parent / "artifacts").mkdir()
    target = Project.load(project / "sandbox.yaml").writable(Path(where), "--changelog", CHANGELOG, anywhere=True)
    assert target == (project / where).resolve()


def test_sbom_output_outside_the_project_is_written(project):
    (project.parent / "artifacts").mkdir()
    result = sandbox_in_process("sbom", "--output", "../artifacts/sbom.json")
    assert result.returncode == 0
    assert (project.parent / "artifacts" / "sbom.json").read_text(encoding="utf-8").startswith("{")


# every file a command writes on the user's word: (argv before the path, the option, what an
# earlier output of it is); none of them is asked of the network, an engine or a build
NAMED_FILES = [
    (["update", "--changelog"], "--changelog", "| tool | from | to | source | release |\n|---|---|---|---|---|\n"),
    (["sbom", "--output"], "--output", '{"bomFormat": "CycloneDX", "specVersion": "1.6"}\n'),
    (["schema", "--output"], "--output", '{"title": "opencode sandbox spec (sandbox.yaml)"}\n'),
    (["cost", "--save"], "--save", '{"schema": "sandbox-cost/1", "parts": []}\n'),
    (["test", "local/x:1", "--save"], "--save", '{"schema": "sandbox-test-report/1", "checks": []}\n'),
]
NAMED_IDS = ["changelog", "sbom", "schema", "cost", "test"]


@pytest.fixture
def no_engine(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a run that got as far as the engine fails with exit 3, not 2
    monkeypatch.setenv("DOCKER_HOST", f"unix://{project}/no-engine.sock")


@pytest.mark.parametrize(("argv", "option", "earlier"), NAMED_FILES, ids=NAMED_IDS)
def test_a_symlink_planted_at_a_named_path_is_not_written_through(project, no_engine, argv, option, earlier, fails_if_blocked):
    """The link points at a file of the command's own shape, so only the link is wrong:
    followed, the write would land wherever whoever planted it chose."""
    victim = project / "victim.json"
    victim.write_text(earlier, encoding="utf-8")
    (project / "report").symlink_to("victim.json")
    before = _state(project)
    result = sandbox_in_process(*argv, "report")
    assert result.returncode == 2
    err = result.stderr
    assert f"error: {option}: 'report' is a symlink (to victim.json); a file named on the command line is not written through a link" in err
    assert _state(project) == before and (project / "report").is_symlink()


PROJECT_FILES = ["README.md", "files/other.sh", "templates/Dockerfile.j2", "generator/cli.py", "tests/test_x.py"]


@pytest.mark.parametrize("victim", PROJECT_FILES)
@pytest.mark.parametrize(("argv", "option", "earlier"), NAMED_FILES, ids=NAMED_IDS)
def test_no_named_path_overwrites_another_file_of_the_project(project, no_engine, argv, option, earlier, victim, fails_if_blocked):
    path = project / victim
    path.parent.mkdir(exist_ok=True)
    path.write_text("# someone's file, not a command's output\n", encoding="utf-8")
    before = _state(project)
    result = sandbox_in_process(*argv, victim)
    assert result.returncode == 2
    err = result.stderr
    assert f"error: {option}: '{victim}' is a file that is not " in err
    assert "a command replaces only its own earlier output or an empty file" in err
    assert _state(project) == before


def test_no_named_path_overwrites_a_file_outside_the_project_either(project, fails_if_blocked):
    (project.parent / "artifacts").mkdir()
    rc = project.parent / "artifacts" / ".bashrc"
    rc.write_text("alias ls='ls -F'\n", encoding="utf-8")
    before = _state(project)
    result = sandbox_in_process("sbom", "--output", str(rc))
    assert result.returncode == 2
    assert "is a file that is not an SBOM written by `sandbox sbom`" in result.stderr
    assert _state(project) == before


@pytest.mark.parametrize("earlier", ["", '{"bomFormat": "CycloneDX", "old": true}\n'], ids=["empty", "earlier-sbom"])
def test_an_empty_file_or_the_commands_own_earlier_output_is_replaced(project, earlier):
    (project / "sbom.json").write_text(earlier, encoding="utf-8")
    result = sandbox_in_process("sbom", "--output", "sbom.json")
    assert result.returncode == 0
    assert json.loads((project / "sbom.json").read_text(encoding="utf-8"))["bomFormat"] == "CycloneDX"
    result = sandbox_in_process("sbom", "--output", "diff.md", "--diff", "sbom.json")
    assert result.returncode == 0
    result = sandbox_in_process("sbom", "--output", "diff.md", "--diff", "sbom.json")
    assert result.returncode == 0, result.stderr
    assert (project / "diff.md").read_text(encoding="utf-8") == "No component of the SBOM changed.\n"


def test_an_sbom_output_is_checked_before_the_sbom_is_made(project, monkeypatch):
    import generator.sbom.document

    def never(*args, **kwargs):
        raise AssertionError("rendered before the output was checked")

    monkeypatch.setattr(generator.sbom.document, "render", never)
    (project / "README.md").write_text("# project\n", encoding="utf-8")
    result = sandbox_in_process("sbom", "--output", "README.md")
    assert result.returncode == 2
    assert "error: --output: 'README.md' is a file that is not an SBOM" in result.stderr


@pytest.mark.parametrize("victim", PROJECT_FILES)
def test_a_profile_output_never_overwrites_another_file_of_the_project(project, victim):
    path = project / victim
    path.parent.mkdir(exist_ok=True)
    path.write_text("# someone's file\n", encoding="utf-8")
    text = (project / "sandbox.yaml").read_text(encoding="utf-8")
    (project / "sandbox.yaml").write_text(text + f"profiles:\n  default: {{output: {victim}}}\n", encoding="utf-8")
    before = _state(project)
    result = sandbox_in_process("generate", "--no-result-cache")
    assert result.returncode == 2
    err = result.stderr
    assert f"profiles.default.output: '{victim}' is a file that is not a Dockerfile written by `sandbox generate`" in err
    assert _state(project) == before


def test_a_profile_output_linked_to_a_file_of_the_project_is_refused(project):
    (project / "README.md").write_text("# project\n", encoding="utf-8")
    (project / "Dockerfile").unlink()
    (project / "Dockerfile").symlink_to("README.md")
    before = _state(project)
    result = sandbox_in_process("generate", "--no-result-cache")
    assert result.returncode == 2
    assert "profiles.default.output: 'Dockerfile' is a file that is not a Dockerfile" in result.stderr
    assert _state(project) == before


def test_a_lock_linked_to_another_file_of_the_project_is_not_written(project, fails_if_blocked):
    # a comment alone reads as an empty lock; written through the link, README.md was replaced
    (project / "README.md").write_text("# project\n", encoding="utf-8")
    (project / "sandbox.lock").symlink_to("README.md")
    before = _state(project)
    result = sandbox_in_process("lock")
    assert result.returncode == 2
    assert "error: sandbox.lock: 'sandbox.lock' is a file that is not a lock written by `sandbox lock`" in result.stderr
    assert _state(project) == before

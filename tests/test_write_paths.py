"""The path rule of generate also holds for every other file a command writes:
`update --changelog`, the lock written by `lock` and `update`, and `sbom --output`. A bad
target is a usage error naming the option before anything is asked or written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.cli import main
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
def test_a_file_named_on_the_command_line_passes_the_path_rule(project, capsys, argv, message, fails_if_blocked):
    before = _state(project)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert _state(project) == before


@pytest.mark.parametrize("command", [["lock"], ["update"]])
def test_a_lock_that_is_a_symlink_out_of_the_project_is_not_written_through(project, capsys, command, fails_if_blocked):
    outside = project.parent / "elsewhere.lock"
    outside.write_text("artifacts: {}\nimages: {}\n", encoding="utf-8")
    os.symlink(outside, project / "sandbox.lock")
    before = _state(project)
    assert main(command) == 2
    err = capsys.readouterr().err
    assert f"error: sandbox.lock: 'sandbox.lock' resolves to {outside}, outside the project directory" in err
    assert _state(project) == before and (project / "sandbox.lock").is_symlink()


@pytest.mark.parametrize("where", ["CHANGES.md", "../artifacts/CHANGES.md"])
def test_a_changelog_or_sbom_may_go_inside_or_outside_the_project(project, where):
    """The user names them on the command line (CI writes them to a temporary directory);
    a spec never names them."""
    from generator.project import Project

    (project.parent / "artifacts").mkdir()
    target = Project.load(project / "sandbox.yaml").writable(Path(where), "--changelog", anywhere=True)
    assert target == (project / where).resolve()


def test_sbom_output_outside_the_project_is_written(project, capsys):
    (project.parent / "artifacts").mkdir()
    assert main(["sbom", "--output", "../artifacts/sbom.json"]) == 0
    assert (project.parent / "artifacts" / "sbom.json").read_text(encoding="utf-8").startswith("{")

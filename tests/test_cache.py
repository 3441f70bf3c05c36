"""The result cache of `generate` and `check` (generator/cache.py), proven by behaviour.

A hit answers without reading the spec: most tests run the real CLI in this process
(tests/integration/cli.py: sandbox_in_process) and tell a hit from a full run by whether
``Project.load`` was called. What makes a hit cheap, that it imports neither pydantic,
ruamel.yaml nor Jinja, can only be seen in a process of its own: that test, and those that
run an edited copy of the package, start one and look at what it imported. Every run has
a cache home of its own, so no test sees another's (or the user's) cache.
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator import cache
from generator.lockfile import LOCK_NAME
from generator.paths import templates_dir
from generator.project import Project
from tests.integration.cli import sandbox_in_process

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ["jinja2", "pydantic", "ruamel"]
#: a lock with a digest for the debian example's base image
LOCKED_BASE = "artifacts: {}\nimages:\n  debian:bookworm-20241111-slim: sha256:%s\n"
UNUSED_IMAGE_LOCK = "artifacts: {}\nimages:\n  example/unused:1: sha256:" + "a" * 64 + "\n"

#: the real entry point in a process of its own; writes the heavy top-level packages it
#: loaded to a file when it returns. Then it leaves without the interpreter's teardown of
#: pydantic and co.: its exit code and output are what main() returned and wrote; the
#: console script's own exit is tested in test_cli.py
_PROBE = """
import json, os, sys
def report():
    heavy = sorted({m.split(".")[0] for m in sys.modules} & set(%r))
    with open(sys.argv[1], "w") as handle:
        json.dump(heavy, handle)
from generator.cli import main
try:
    code = main(sys.argv[2:])
finally:
    report()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
""" % (HEAVY,)  # noqa: UP031 - the probe's own braces would need doubling in an f-string


class Sandbox:
    """Runs `sandbox` in a project directory with a cache home of its own: in this process,
    or, with ``package_root`` set or ``in_process`` off, in a new one (running that copy of
    the package)."""

    def __init__(self, project: Path, cache_home: Path) -> None:
        self.project = project
        self.cache_home = cache_home
        #: a copy of the package to run instead of the one under test (in a new process)
        self.package_root: Path | None = None
        self.in_process = True

    @property
    def spec(self) -> Path:
        return self.project / "sandbox.yaml"

    @property
    def results(self) -> Path:
        return self.cache_home / "opencode-sandbox" / "results"

    def entries(self) -> list[Path]:
        return sorted(self.results.glob("*.json")) if self.results.is_dir() else []

    def run(self, *argv: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, bool]:
        """The run's result, and whether it took the full path (read the spec)."""
        if self.in_process and self.package_root is None:
            return self._run_here(*argv, env=env)
        return self._run_in_new_process(*argv, env=env)

    def _run_here(self, *argv: str, env: dict[str, str] | None) -> tuple[subprocess.CompletedProcess, bool]:
        loads = []
        load = Project.load.__func__  # type: ignore[attr-defined]

        def counted(cls: type[Project], spec_path: Path) -> Project:
            loads.append(spec_path)
            return load(cls, spec_path)

        environment: dict[str, str | None] = {"SANDBOX_NO_CACHE": None, "XDG_CACHE_HOME": str(self.cache_home), **(env or {})}
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Project, "load", classmethod(counted))
            result = sandbox_in_process(*argv, cwd=self.project, env=environment)
        return result, bool(loads)

    def _run_in_new_process(self, *argv: str, env: dict[str, str] | None) -> tuple[subprocess.CompletedProcess, bool]:
        report = self.project.parent / "loaded.json"
        report.unlink(missing_ok=True)
        environment = {k: v for k, v in os.environ.items() if k != "SANDBOX_NO_CACHE"}
        environment["XDG_CACHE_HOME"] = str(self.cache_home)
        if self.package_root is not None:
            environment["PYTHONPATH"] = str(self.package_root)
        environment.update(env or {})
        result = subprocess.run(
            [sys.executable, "-c", _PROBE, str(report), *argv],
            cwd=self.project,
            capture_output=True,
            text=True,
            timeout=120,
            env=environment,
        )
        loaded = json.loads(report.read_text())
        assert loaded in ([], HEAVY), f"a run imports all of {HEAVY} or none of them, not {loaded}:\n{result.stderr}"
        return result, loaded == HEAVY

    def hit(self, *argv: str, code: int = 0, **kwargs) -> subprocess.CompletedProcess:
        result, full = self.run(*argv, **kwargs)
        assert not full, f"expected a cache hit, but the run read the spec:\n{result.stderr}"
        assert result.returncode == code, result.stdout + result.stderr
        return result

    def full(self, *argv: str, code: int = 0, **kwargs) -> subprocess.CompletedProcess:
        result, full = self.run(*argv, **kwargs)
        assert full, f"expected the full run, but the cache answered:\n{result.stdout}{result.stderr}"
        assert result.returncode == code, result.stdout + result.stderr
        return result


def copy_package(root: Path) -> Path:
    """A copy of the generator under test and its templates, to run instead of the original."""
    shutil.copytree(Path(cache.__file__).parent, root / "generator", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(templates_dir(), root / "templates")
    return root


@pytest.fixture(scope="module")
def frozen_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package copied and compiled once, for the tests that edit the generator: each
    copies this (bytecode included, with its sources' times, so still valid: compiling every
    module is most of a first run, and no part of the key) and edits its own copy, never
    the checkout."""
    root = copy_package(tmp_path_factory.mktemp("frozen"))
    assert compileall.compile_dir(root / "generator", quiet=1)
    return root


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    """The debian example (two profiles) in a directory of its own."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copyfile(ROOT / "examples" / "debian" / "sandbox.yaml", project / "sandbox.yaml")
    return Sandbox(project, tmp_path / "cache")


GENERATED = "unchanged Dockerfile (profile default)\nunchanged Dockerfile.slim (profile slim)\n"
UP_TO_DATE = "up to date: Dockerfile, Dockerfile.slim\n"


# -- hits ------------------------------------------------------------------------------


def test_identical_inputs_are_answered_without_pydantic_ruamel_or_jinja(sandbox):
    sandbox.in_process = False  # what a process imported is seen only in a process of its own
    written = sandbox.full("generate")
    assert written.stdout.startswith("wrote Dockerfile (profile default)")
    assert sandbox.hit("check").stdout == UP_TO_DATE  # generate recorded the lock verdict too
    assert sandbox.hit("generate").stdout == GENERATED
    assert len(sandbox.entries()) == 1


def test_a_hit_says_exactly_what_the_full_run_says(sandbox):
    sandbox.full("generate")
    for argv in (["check"], ["generate"], ["check", "--profile", "slim"], ["generate", "--profile", "slim"]):
        uncached = sandbox.full(*argv, "--no-result-cache")
        sandbox.run(*argv)  # records the entry for these options if there is none yet
        hit = sandbox.hit(*argv)
        assert (hit.stdout, hit.stderr) == (uncached.stdout, uncached.stderr)


def test_outputs_are_byte_identical_with_and_without_the_cache(sandbox, tmp_path):
    uncached = tmp_path / "uncached"
    shutil.copytree(sandbox.project, uncached)
    sandbox.full("generate")
    other = Sandbox(uncached, tmp_path / "cache-unused")
    other.full("generate", "--no-result-cache")
    assert other.entries() == []
    for name in ("Dockerfile", "Dockerfile.slim"):
        assert (sandbox.project / name).read_bytes() == (uncached / name).read_bytes()
    # and what the entry promises is what is on disk
    (entry,) = sandbox.entries()
    recorded = {output: sha for _profile, output, sha in json.loads(entry.read_text())["outputs"]}
    assert recorded == {name: cache.sha256_text((uncached / name).read_text()) for name in ("Dockerfile", "Dockerfile.slim")}


# -- what a hit still catches ------------------------------------------------------------


def test_a_hand_edited_dockerfile_fails_check_with_a_diff_after_a_cached_success(sandbox):
    sandbox.full("generate")
    sandbox.hit("check")
    dockerfile = sandbox.project / "Dockerfile.slim"
    dockerfile.write_text(dockerfile.read_text().replace("USER ", "# edited by hand\nUSER ", 1))
    result = sandbox.full("check", code=1)
    assert "-# edited by hand" in result.stdout and "Dockerfile.slim (on disk)" in result.stdout
    assert "Dockerfile.slim out of date" in result.stderr
    assert sandbox.full("generate").stdout == "unchanged Dockerfile (profile default)\nwrote Dockerfile.slim (profile slim)\n"
    assert sandbox.hit("check").stdout == UP_TO_DATE


def test_a_deleted_output_is_regenerated(sandbox):
    sandbox.full("generate")
    (sandbox.project / "Dockerfile").unlink()
    assert "(missing)" in sandbox.full("check", code=1).stdout
    assert sandbox.full("generate").stdout.startswith("wrote Dockerfile (profile default)\n")


def test_an_unknown_profile_is_still_a_usage_error(sandbox):
    sandbox.full("generate")
    result = sandbox.full("check", "--profile", "fat", code=2)
    assert "unknown profile 'fat'" in result.stderr


# -- what invalidates an entry ---------------------------------------------------------


def test_any_change_to_the_spec_bytes_is_a_miss(sandbox):
    sandbox.full("generate")
    sandbox.spec.write_text(sandbox.spec.read_text() + "# a comment changes no output\n")
    assert sandbox.full("check").stdout == UP_TO_DATE
    assert sandbox.hit("check").stdout == UP_TO_DATE
    sandbox.spec.write_text(sandbox.spec.read_text().replace("vendor: Example", "vendor: Someone else"))
    assert '+      org.opencontainers.image.vendor="Someone else"' in sandbox.full("check", code=1).stdout


def test_the_spec_file_name_is_part_of_the_key(sandbox):
    # the Dockerfile names its spec: the same bytes under another name render differently
    sandbox.full("generate")
    shutil.copyfile(sandbox.spec, sandbox.project / "other.yaml")
    result = sandbox.full("--spec", "other.yaml", "check", code=1)
    assert "+# Generated by `sandbox generate` from other.yaml" in result.stdout


def test_the_lock_is_part_of_the_key_and_a_stale_lock_is_never_a_hit(sandbox):
    sandbox.full("generate")
    sandbox.hit("check")
    lock = sandbox.project / LOCK_NAME
    lock.write_text(UNUSED_IMAGE_LOCK)
    result = sandbox.full("check", code=1)
    assert "stale sandbox.lock entry: image example/unused:1: the spec no longer uses it" in result.stdout
    # generate succeeds with a stale lock and records that; check must still fail
    assert sandbox.full("generate").stdout == GENERATED
    assert "stale sandbox.lock entry" in sandbox.full("check", code=1).stdout
    lock.write_text("artifacts: {}\nimages: {}\n")
    assert sandbox.full("check").stdout == UP_TO_DATE
    assert sandbox.hit("check").stdout == UP_TO_DATE
    lock.unlink()  # back to the inputs of the first run: its entry answers
    assert sandbox.hit("check").stdout == UP_TO_DATE


def test_the_lock_bytes_are_part_of_the_key_not_only_its_presence(sandbox):
    # a locked digest is rendered into FROM: another digest, the same lock size, must be a miss
    lock = sandbox.project / LOCK_NAME
    lock.write_text(LOCKED_BASE % ("a" * 64))
    sandbox.full("generate")
    sandbox.hit("check")
    lock.write_text(LOCKED_BASE % ("b" * 64))
    result = sandbox.full("check", code=1)
    assert "+FROM debian:bookworm-20241111-slim@sha256:" + "b" * 64 in result.stdout


def test_profiles_are_part_of_the_key(sandbox):
    sandbox.full("generate")
    assert sandbox.full("check", "--profile", "slim").stdout == "up to date: Dockerfile.slim\n"
    assert sandbox.hit("check", "--profile", "slim").stdout == "up to date: Dockerfile.slim\n"
    assert sandbox.hit("check").stdout == UP_TO_DATE


@pytest.fixture
def package_copy(sandbox: Sandbox, tmp_path: Path, frozen_package: Path) -> Path:
    """A copy of the package for this test alone, to edit, run in new processes; its first
    run recorded an entry."""
    root = tmp_path / "package"
    shutil.copytree(frozen_package, root)
    sandbox.package_root = root
    sandbox.full("generate")
    sandbox.hit("check")
    return root


def test_the_copy_is_what_runs(sandbox, package_copy):
    probe = subprocess.run(
        [sys.executable, "-c", "import generator; print(generator.__file__)"],
        cwd=sandbox.project,
        env={**os.environ, "PYTHONPATH": str(package_copy)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == str(package_copy / "generator" / "__init__.py")


def test_an_edited_template_is_a_miss(sandbox, package_copy):
    template = package_copy / "templates" / "Dockerfile.j2"
    template.write_text("# from an edited template\n" + template.read_text())
    result = sandbox.full("check", code=1)
    assert "+# from an edited template" in result.stdout


def test_an_edited_generator_source_is_a_miss(sandbox, package_copy):
    source = package_copy / "generator" / "methods" / "apt.py"
    source.write_text(source.read_text() + "\n# an edit that changes no output\n")
    assert sandbox.full("check").stdout == UP_TO_DATE
    assert sandbox.hit("check").stdout == UP_TO_DATE


def test_an_edited_lint_config_is_a_miss(sandbox, package_copy):
    config = package_copy / "generator" / "hadolint.yaml"
    config.write_text(config.read_text() + "\n# edited\n")
    sandbox.full("check")


def test_bytecode_and_other_files_are_not_part_of_the_fingerprint(sandbox, package_copy):
    (package_copy / "generator" / "__pycache__").mkdir(exist_ok=True)
    (package_copy / "generator" / "__pycache__" / "stray.cpython-311.pyc").write_bytes(b"\0")
    (package_copy / "generator" / "notes.txt").write_text("not code")
    sandbox.hit("check")


# -- a broken or refused cache is ignored -------------------------------------------------


def test_a_corrupt_entry_is_ignored_and_replaced(sandbox):
    sandbox.full("generate")
    (entry,) = sandbox.entries()
    deep = b"[" * 100_000 + b"]" * 100_000  # json.loads recurses: RecursionError, not a miss, before
    huge = b'{"format": 1, "outputs": [], "lock_fresh": true, "x": "' + b"x" * cache.MAX_ENTRY_BYTES + b'"}'
    for garbage in (b"", b"{not json", b'{"format": 1, "outputs": "x", "lock_fresh": true}', b"\xff\xfe\x00", deep, huge):
        entry.write_bytes(garbage)
        assert sandbox.full("check").stdout == UP_TO_DATE
        json.loads(entry.read_text())  # rewritten whole
        assert sandbox.hit("check").stdout == UP_TO_DATE


def test_an_entry_pointing_outside_the_project_is_ignored(sandbox, tmp_path):
    sandbox.full("generate")
    (entry,) = sandbox.entries()
    outside = tmp_path / "elsewhere"
    outside.write_text("x")
    data = json.loads(entry.read_text())
    data["outputs"] = [["default", "../elsewhere", cache.sha256_text("x")]]
    entry.write_text(json.dumps(data))
    assert sandbox.full("check").stdout == UP_TO_DATE


def test_an_entry_edited_to_vouch_for_a_stale_file_is_a_miss(sandbox):
    """An entry says which digest each output must have: edited (by this user's own
    programs, or restored from another machine) to the digest of a stale Dockerfile, it
    must not make `check` say "up to date". Entries are signed with a key kept apart from
    the cache, so an edited one is a miss and the full run finds the drift."""
    sandbox.full("generate")
    (entry,) = sandbox.entries()
    dockerfile = sandbox.project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "RUN echo not what the spec says\n")
    data = json.loads(entry.read_text())
    data["outputs"][0][2] = cache.sha256_text(dockerfile.read_text())
    entry.write_text(json.dumps(data))

    result = sandbox.full("check", code=1)

    assert "Dockerfile out of date" in result.stderr


def test_an_entry_edited_to_call_a_stale_lock_fresh_is_a_miss(sandbox):
    (sandbox.project / LOCK_NAME).write_text(UNUSED_IMAGE_LOCK)
    sandbox.full("generate")
    (entry,) = sandbox.entries()
    data = json.loads(entry.read_text())
    assert data["lock_fresh"] is False
    data["lock_fresh"] = True
    entry.write_text(json.dumps(data))

    result = sandbox.full("check", code=1)

    assert "stale sandbox.lock entry" in result.stdout


def test_an_entry_with_control_characters_is_ignored(sandbox):
    """A hit echoes the profile and output names of the entry: they could forge lines."""
    sandbox.full("generate")
    (entry,) = sandbox.entries()
    data = json.loads(entry.read_text())
    data["outputs"][0][0] = "default\nerror: forged"
    entry.write_text(json.dumps(data))
    result = sandbox.full("generate")
    assert "forged" not in result.stdout


def test_an_unwritable_cache_is_skipped_silently(sandbox):
    sandbox.cache_home.parent.mkdir(exist_ok=True)
    sandbox.cache_home.write_text("a file where the cache directory should be")
    for _ in range(2):
        result = sandbox.full("generate")
        assert result.stderr == ""
    assert sandbox.full("check").stdout == UP_TO_DATE


def test_no_cache_option_and_environment_bypass_it(sandbox):
    sandbox.full("generate", "--no-result-cache")
    sandbox.full("check", "--no-result-cache")
    sandbox.full("check", env={"SANDBOX_NO_CACHE": "1"})
    assert sandbox.entries() == []  # nothing recorded either
    sandbox.full("check")
    sandbox.hit("check")
    assert sandbox.full("check", "--no-result-cache").stdout == UP_TO_DATE
    assert sandbox.full("generate", env={"SANDBOX_NO_CACHE": "1"}).stdout == GENERATED
    sandbox.hit("check", env={"SANDBOX_NO_CACHE": "0"})


def test_failed_runs_record_nothing(sandbox):
    valid = sandbox.spec.read_text()
    sandbox.spec.write_text(valid + "bogus: 1\n")
    assert "unknown key 'bogus'" in sandbox.full("generate", code=2).stderr
    sandbox.spec.write_text(valid)
    sandbox.full("check", code=1)  # nothing generated yet: drift
    (sandbox.project / LOCK_NAME).write_text(UNUSED_IMAGE_LOCK)
    sandbox.full("check", "--profile", "fat", code=2)
    assert sandbox.entries() == []
    sandbox.full("generate")
    assert len(sandbox.entries()) == 1  # the same runs do record when they succeed


def test_the_lock_file_name_matches_the_lockfile_module():
    assert cache.LOCK_NAME == LOCK_NAME


def test_the_package_api_is_unchanged_by_its_lazy_imports():
    # generator/__init__ no longer imports the loader and renderer up front (a cache hit
    # must not build the models); `generator.render` must still be the function, before
    # and after the submodule of the same name is imported
    script = (
        "import generator, generator.render, generator.cache\n"
        "from generator import load_spec, render\n"
        "assert callable(render) and render is generator.render\n"
        "assert render.__module__ == 'generator.render', render\n"
        "from generator.lockfile import Lock\n"
        "path = generator.default_spec_path()\n"
        "print(render(load_spec(path), None, Lock.beside(path)).splitlines()[0])\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Generated by `sandbox generate` from sandbox.yaml")

"""The caches are not a trust boundary: what another user could have written (a shared or
group-writable cache directory, a foreign entry) is not read, and what sandbox did not
write itself (an entry edited, copied or restored apart from the key that signs it) is not
believed; the run recompiles instead. --no-result-cache reads nothing cached at all."""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path

import jinja2
import pytest

from generator import paths
from generator.cache import ResultCache
from generator.paths import private_to_user, templates_dir, user_cache_dir
from tests.integration.cli import sandbox

ROOT = Path(__file__).resolve().parent.parent

render = importlib.import_module("generator.render")  # the module (generator.render is also a function)


def test_the_cache_directory_is_made_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    directory = user_cache_dir("jinja")
    assert directory is not None and directory.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("where", ["ours", "named"])
def test_our_own_directory_left_group_writable_is_made_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    directory = user_cache_dir("jinja")
    assert directory is not None
    target = directory.parent if where == "ours" else directory
    target.chmod(0o775)  # a umask of 002, or an older release
    assert user_cache_dir("jinja") == directory and target.stat().st_mode & 0o777 == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a directory's owner needs root")
def test_a_directory_another_user_owns_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    directory = user_cache_dir("jinja")
    assert directory is not None
    os.chown(directory, 65534, 65534)
    assert user_cache_dir("jinja") is None


def test_a_symlinked_cache_directory_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "cache" / "opencode-sandbox").mkdir(parents=True, mode=0o700)
    (tmp_path / "cache" / "opencode-sandbox" / "jinja").symlink_to(elsewhere)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert user_cache_dir("jinja") is None


def test_a_compiled_template_others_could_write_is_not_run(tmp_path: Path) -> None:
    cache = render._BytecodeCache(str(tmp_path), b"k" * 64)
    environment = render.environment()
    source = "{{ 1 + 1 }}"
    bucket = cache.get_bucket(environment, "probe.j2", None, source)
    bucket.code = compile("raise SystemExit('foreign bytecode ran')", "probe", "exec")
    cache.set_bucket(bucket)
    entry = Path(cache._get_cache_filename(bucket))
    assert entry.exists() and private_to_user(entry)
    assert cache.get_bucket(environment, "probe.j2", None, source).code is not None  # ours: loaded
    for others_could_write in (0o620, 0o602):  # the group, or anyone
        entry.chmod(others_could_write)
        assert cache.get_bucket(environment, "probe.j2", None, source).code is None


@pytest.mark.parametrize("mode", [0o620, 0o602], ids=["group-writable", "world-writable"])
def test_a_result_entry_others_could_write_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    spec = tmp_path / "sandbox.yaml"
    spec.write_text("x: 1\n")
    results = ResultCache(spec, ["default"])
    results.store([("default", tmp_path / "Dockerfile", "FROM scratch\n")], lock_fresh=True)
    path = results._file()
    assert path is not None and results.lookup() is not None  # ours: a hit
    path.chmod(mode)
    assert results.lookup() is None


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_a_result_entry_owned_by_someone_else_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    spec = tmp_path / "sandbox.yaml"
    spec.write_text("x: 1\n")
    results = ResultCache(spec, ["default"])
    path = results._file()
    assert path is not None
    path.write_text("{}")
    assert private_to_user(path)
    os.chown(path, 65534, 65534)
    assert results.lookup() is None


# -- what this same user's other programs (or a restored cache) put there is verified too ----


def _fresh_process_env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_STATE_HOME": str(tmp_path / "state"), "SANDBOX_NO_CACHE": ""}


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copyfile(ROOT / "examples" / "debian" / "sandbox.yaml", project / "sandbox.yaml")
    return project


def _forge_compiled_templates(cache_home: Path) -> int:
    """Write, in Jinja's own format and under the names Jinja gives them, compiled templates
    that stop the program: what a process of this user (or a cache restored from elsewhere)
    could leave in the cache directory. Returns how many were written."""
    directory = cache_home / "opencode-sandbox" / "jinja"
    directory.mkdir(parents=True, exist_ok=True)
    forger = jinja2.FileSystemBytecodeCache(str(directory))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir()), bytecode_cache=forger)
    names = env.list_templates(extensions=["j2"])
    for name in names:
        source, filename, _ = env.loader.get_source(env, name)
        bucket = forger.get_bucket(env, name, filename, source)
        bucket.code = compile("raise SystemExit('forged bytecode ran')", name, "exec")
        forger.set_bucket(bucket)
    return len(names)


@pytest.mark.parametrize("no_cache", [[], ["--no-result-cache"]], ids=["cache", "no-cache"])
def test_compiled_templates_written_by_another_program_are_not_run(tmp_path: Path, no_cache: list[str]) -> None:
    project = _project(tmp_path)
    env = _fresh_process_env(tmp_path)
    assert sandbox("generate", *no_cache, cwd=project, env=env).returncode == 0
    assert _forge_compiled_templates(tmp_path / "cache") > 5
    (project / "Dockerfile").unlink()  # a miss: the templates are rendered

    result = sandbox("generate", *no_cache, cwd=project, env=env)

    assert result.returncode == 0, result.stderr
    assert "forged" not in result.stderr + result.stdout


def test_no_cache_reads_no_compiled_template(tmp_path: Path) -> None:
    """With --no-result-cache (or SANDBOX_NO_CACHE=1) nothing cached is opened: each compiled
    template is a FIFO here, which blocks whoever opens it."""
    project = _project(tmp_path)
    env = _fresh_process_env(tmp_path)
    assert sandbox("generate", cwd=project, env=env).returncode == 0
    compiled = sorted((tmp_path / "cache" / "opencode-sandbox" / "jinja").iterdir())
    assert compiled
    for path in compiled:
        path.unlink()
        os.mkfifo(path, 0o600)
    (project / "Dockerfile").unlink()
    for how in (["--no-result-cache"], []):
        extra = {"SANDBOX_NO_CACHE": "1"} if not how else {}
        result = sandbox("generate", *how, cwd=project, env={**env, **extra}, timeout=60)
        assert result.returncode == 0, result.stderr


def test_a_relative_xdg_cache_home_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The XDG Base Directory spec: a relative path in $XDG_CACHE_HOME (or $XDG_STATE_HOME)
    is invalid and ignored; the default under $HOME is used, never the working directory."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("XDG_STATE_HOME", "relative/state")
    assert user_cache_dir("jinja") == tmp_path / "home" / ".cache" / "opencode-sandbox" / "jinja"
    assert paths.user_state_dir("keys") == tmp_path / "home" / ".local" / "state" / "opencode-sandbox" / "keys"
    assert not (tmp_path / "relative").exists()

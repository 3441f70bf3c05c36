"""The caches are not a trust boundary: what another user could have written (a shared or
group-writable cache directory, a foreign entry) is not read; the run recompiles instead."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from generator.cache import ResultCache
from generator.paths import private_to_user, user_cache_dir

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
    cache = render._BytecodeCache(str(tmp_path))
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

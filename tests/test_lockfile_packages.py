"""sandbox.lock's packages section (the npm and uv tools' transitive locks): its shape on
disk, what it refuses, when it is stale, and that the Dockerfile uses a lock only while the
spec still asks for what it resolved."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import UsageError
from generator.lockfile import Lock, PackageLock
from tests.integration.small_specs import render_data, spec_data

SHA = "c" * 64


def _lock() -> Lock:
    return Lock(
        packages={
            "pnpm": PackageLock("pnpm@1.0.0", ("pnpm", "pnpx"), {"locks/pnpm/package.json": SHA, "locks/pnpm/package-lock.json": SHA}),
            "black": PackageLock("black==1.0 for Python 3.14", ("black",), {"locks/black/requirements.txt": SHA}),
        }
    )


def test_packages_round_trip_sorted_and_a_lock_without_them_keeps_its_old_shape(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.lock"
    _lock().write(path)
    text = path.read_text()
    assert text.index("  black:") < text.index("  pnpm:")
    assert text.index("locks/pnpm/package-lock.json") < text.index("locks/pnpm/package.json")
    assert Lock.read(path) == _lock()
    assert Lock.read(path).dumps() == text
    assert "packages" not in Lock().dumps()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"resolves": "x@1", "commands": [], "files": {"../sandbox.yaml": SHA}}, "is not a file of locks/pnpm/"),
        ({"resolves": "x@1", "commands": [], "files": {"locks/other/package.json": SHA}}, "is not a file of locks/pnpm/"),
        ({"resolves": "x@1", "commands": [], "files": {"locks/pnpm/a/b": SHA}}, "is not a file of locks/pnpm/"),
        ({"resolves": "x@1", "commands": [], "files": {"locks/pnpm/package.json": "abc"}}, "expected 64 lowercase hex digits"),
        ({"resolves": "x@1", "commands": ["a b"], "files": {"locks/pnpm/package.json": SHA}}, "expected a list of command names"),
        ({"resolves": "x@1", "commands": [], "files": {}}, "expected a mapping of files under locks/"),
        ({"resolves": "x@1", "files": {"locks/pnpm/package.json": SHA}}, "expected resolves, commands and files"),
    ],
)
def test_a_malformed_package_entry_is_refused_with_where_and_what(entry: dict, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        Lock.from_data({"artifacts": {}, "images": {}, "packages": {"pnpm": entry}}, Path("sandbox.lock"))
    assert "sandbox.lock: packages.pnpm" in str(caught.value)
    assert message in str(caught.value)


def test_a_package_lock_is_stale_once_the_spec_asks_for_another_version_or_drops_the_tool() -> None:
    lock = _lock()
    assert lock.stale({}, set(), {"pnpm": "pnpm@1.0.0", "black": "black==1.0 for Python 3.14"}) == []
    assert lock.stale({}, set(), {"pnpm": "pnpm@1.1.0"}) == [
        "black packages: the spec no longer installs black==1.0 for Python 3.14",
        "pnpm packages: locked pnpm@1.0.0 but the spec now installs pnpm@1.1.0",
    ]
    assert lock.package("pnpm", "pnpm@1.1.0") is None
    assert lock.package("pnpm", "pnpm@1.0.0") == lock.packages["pnpm"]


def test_the_dockerfile_installs_from_a_lock_only_while_it_resolves_the_spec_s_version() -> None:
    tool = {"name": "pnpm", "method": "npm", "version": "1.0.0"}
    locked = render_data(spec_data(tool), lock=_lock())
    assert "npm ci --prefix=" in locked.text
    assert "npm install --global" not in locked.text
    npm_ci = next(i for i, c in enumerate(locked.instructions) if c.cmd == "RUN" and "npm ci" in c.value[0])
    assert locked.instructions[npm_ci - 1].cmd == "COPY"
    assert "ln -s" in locked.instructions[npm_ci].value[0]
    bumped = render_data(spec_data({**tool, "version": "1.1.0"}), lock=_lock())
    assert "npm ci" not in bumped.text
    assert "--no-audit pnpm@1.1.0" in bumped.text


def test_the_build_context_carries_the_lock_files_and_refuses_an_edited_one(tmp_path: Path) -> None:
    import hashlib

    from generator.docker.context import locked_package_files
    from generator.loader import load_spec
    from tests.supply.upstream_specs import write_spec

    spec_path = write_spec(tmp_path, {"name": "pnpm", "method": "npm", "version": "1.0.0"})
    (tmp_path / "locks/pnpm").mkdir(parents=True)
    texts = {"package.json": "{}\n", "package-lock.json": '{"lockfileVersion": 3}\n'}
    files = {}
    for name, text in texts.items():
        (tmp_path / "locks/pnpm" / name).write_text(text, encoding="utf-8")
        files[f"locks/pnpm/{name}"] = hashlib.sha256(text.encode()).hexdigest()
    Lock(packages={"pnpm": PackageLock("pnpm@1.0.0", ("pnpm",), files)}).write(tmp_path / "sandbox.lock")
    spec = load_spec(spec_path)

    assert locked_package_files(spec, tmp_path) == [(path, tmp_path / path) for path in sorted(files)]
    (tmp_path / "locks/pnpm/package-lock.json").write_text('{"lockfileVersion": 3, "edited": true}\n', encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        locked_package_files(spec, tmp_path)
    assert "locks/pnpm/package-lock.json differs from the sha256 sandbox.lock records" in str(caught.value)


def test_no_output_option_writes_over_a_lock_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from generator.cli import main
    from tests.supply.upstream_specs import write_spec

    spec_path = write_spec(tmp_path, {"name": "pnpm", "method": "npm", "version": "1.0.0"})
    (tmp_path / "locks/pnpm").mkdir(parents=True)
    (tmp_path / "locks/pnpm/package.json").write_text("{}\n", encoding="utf-8")
    Lock(packages={"pnpm": PackageLock("pnpm@1.0.0", ("pnpm",), {"locks/pnpm/package.json": SHA})}).write(tmp_path / "sandbox.lock")

    code = main(["--spec", str(spec_path), "sbom", "--output", str(tmp_path / "locks/pnpm/package.json")])

    assert code == 2
    assert "is a file of a transitive lock (locks/pnpm/package.json)" in capsys.readouterr().err
    assert (tmp_path / "locks/pnpm/package.json").read_text() == "{}\n"

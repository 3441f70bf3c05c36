"""The base stage's apt/dpkg setup for image builds: what it writes, that it comes before
the first install, that base.exclude_docs turns the doc filters off, and that the rendered
shell really writes those files (quoting keeps the globs literal)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from generator.dockerfile_data import DOC_FILTERS
from generator.lint import lint
from tests.integration.small_specs import render_data, spec_data

BASES = {
    "ubuntu": {"image": "ubuntu", "tag": "24.04"},
    "debian": {"image": "debian", "tag": "bookworm-20250407-slim"},
}


def _base_runs(data: dict) -> list[str]:
    return render_data(data).runs("base")


def _setup_run(data: dict) -> str:
    """The RUN that configures apt and dpkg: the first of the base stage."""
    return _base_runs(data)[0]


@pytest.mark.parametrize("base", BASES.values(), ids=BASES.keys())
def test_setup_comes_before_the_first_install(base):
    runs = _base_runs(spec_data(base=base))
    setup = runs[0]
    assert "apt-get install" not in setup
    assert "/etc/dpkg/dpkg.cfg.d/sandbox-unsafe-io" in setup
    assert "apt-get install" in runs[1]


@pytest.mark.parametrize("base", BASES.values(), ids=BASES.keys())
def test_setup_is_explained_and_lint_clean(base):
    # what its lines write is run for real below (test_the_rendered_setup_writes_the_files_it_names);
    # their exact text is in the goldens
    rendered = render_data(spec_data(base=base))
    # the why is written beside it
    assert "# base.exclude_docs: dpkg leaves docs" in rendered.text
    assert "skips the fsync" in rendered.text
    assert lint(rendered.text, "Dockerfile") == []


def test_exclude_docs_false_drops_only_the_doc_filters():
    base = {**BASES["ubuntu"], "exclude_docs": False}
    rendered = render_data(spec_data(base=base))
    setup = rendered.runs("base")[0]
    assert "path-exclude" not in rendered.text and "sandbox-exclude-docs" not in rendered.text
    assert "base.exclude_docs" not in rendered.text
    # the speed settings do not depend on the option
    assert "force-unsafe-io" in setup and "debconf-set-selections" in setup
    assert lint(rendered.text, "Dockerfile") == []


def test_exclude_docs_must_be_a_boolean():
    from tests.integration.small_specs import rejected

    rejected(spec_data(base={**BASES["ubuntu"], "exclude_docs": "no"}), "base.exclude_docs", "true or false")


@pytest.mark.parametrize("base", BASES.values(), ids=BASES.keys())
def test_the_rendered_setup_writes_the_files_it_names(tmp_path: Path, base):
    """Run the rendered shell with its absolute paths moved under tmp_path and
    debconf-set-selections replaced by a recorder: the files must hold exactly the lines
    dpkg, apt and debconf expect (an unquoted glob would have been expanded by the shell)."""
    setup = _setup_run(spec_data(base=base))
    root = tmp_path / "root"
    for directory in ("etc/apt/apt.conf.d", "etc/dpkg/dpkg.cfg.d", "var/lib/man-db"):
        (root / directory).mkdir(parents=True)
    (root / "etc/apt/apt.conf.d/docker-clean").write_text("DPkg::Post-Invoke {};\n")
    (root / "var/lib/man-db/auto-update").write_text("")
    selections = tmp_path / "selections"
    script = (
        setup.replace("/etc/", f"{root}/etc/")
        .replace("/var/lib/man-db/", f"{root}/var/lib/man-db/")
        .replace("debconf-set-selections", f"cat > {selections}")
    )
    subprocess.run(["bash", "-o", "pipefail", "-c", script], check=True, cwd=tmp_path, timeout=30)

    assert (root / "etc/dpkg/dpkg.cfg.d/sandbox-unsafe-io").read_text() == "force-unsafe-io\n"
    assert (root / "etc/apt/apt.conf.d/sandbox-no-translations").read_text() == 'Acquire::Languages "none";\n'
    assert (root / "etc/dpkg/dpkg.cfg.d/sandbox-exclude-docs").read_text().splitlines() == list(DOC_FILTERS)
    assert selections.read_text() == "man-db man-db/auto-update boolean false\n"
    assert not (root / "etc/apt/apt.conf.d/docker-clean").exists()
    assert not (root / "var/lib/man-db/auto-update").exists()
    assert (root / "etc/apt/apt.conf.d/keep-cache").read_text() == 'Binary::apt::APT::Keep-Downloaded-Packages "true";\n'

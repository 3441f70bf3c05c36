"""The shipped sandbox.yaml: every tool of the original plan is declared, each one says how
it is verified and its files exist. (That the committed Dockerfiles match it and lint clean
is checked once, with the examples', in tests/test_golden.py.)"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from generator.methods.context import RenderContext
from generator.project import Project

ROOT = Path(__file__).resolve().parent.parent

#: The tool list of the seed plan (Task 3), each as the tool name, a command, or an apt
#: package the spec must carry (plus opencode, GSD, TypeScript and mise from the brief).
SEED = [
    "vim",
    "neovim",
    "nano",
    "tmux",
    "zsh",
    "oh-my-zsh",
    "starship",
    "tini",
    "node",
    "python",
    "rust",
    "go",
    "pnpm",
    "uv",
    "curl",
    "wget",
    "htop",
    "build-essential",
    "jq",
    "yq",
    "git",
    "rg",
    "bat",
    "eza",
    "fzf",
    "fd",
    "lazygit",
    "delta",
    "difft",
    "direnv",
    "just",
    "http",
    "shellcheck",
    "shfmt",
    "tree",
    "glow",
    "procs",
    "dust",
    "duf",
    "btop",
    "gh",
    "zip",
    "unzip",
    "p7zip-full",
    "xz-utils",
    "sqlite3",
    "postgresql-client",
    "default-mysql-client",
    "kubectl",
    "helm",
    "k9s",
    "dive",
    "trivy",
    "gitleaks",
    "hadolint",
    "age",
    "sops",
    "mkcert",
    "act",
    "cargo-nextest",
    "cargo-audit",
    "cargo-deny",
    "sccache",
    "mold",
    "cross",
    "prettier",
    "black",
    "eslint",
    "ruff",
    "biome",
    "jest",
    "vitest",
    "pytest",
    "protobuf-compiler",
    "grpcurl",
    "opencode",
    "gsd",
    "typescript",
    "mise",
]


@pytest.fixture(scope="module")
def project() -> Project:
    return Project.load(ROOT / "sandbox.yaml")


def _declared(tools) -> set[str]:
    names = set()
    for tool in tools:
        names.add(tool.name)
        names.update(tool.commands())
        names.update(p.split("=", 1)[0] for p in getattr(tool, "packages", []))
    return names


def test_every_seed_tool_is_declared(project):
    missing = [t for t in SEED if t not in _declared(project.spec.tools)]
    assert not missing


#: apt packages a coding agent needs beyond the seed plan (issue 8): in every profile, and
#: the native build headers wherever build-essential is
AGENT_UTILS = ("openssh-client", "procps", "less", "file", "gnupg")
BUILD_HEADERS = ("pkg-config", "libssl-dev", "zlib1g-dev", "libffi-dev")


def _apt_packages(tools) -> dict[str, str]:
    """package name -> its spec entry (name or name=version) over the apt tools given."""
    return {p.split("=", 1)[0]: p for t in tools if t.method == "apt" for p in t.packages}


def test_agent_utilities_are_in_every_profile_and_headers_go_with_build_essential(project):
    spec = project.spec
    for profile in spec.profiles:
        packages = _apt_packages(spec.tools_for(profile))
        assert all(name in packages for name in AGENT_UTILS), profile
        has_compiler = "build-essential" in packages
        assert all((name in packages) == has_compiler for name in BUILD_HEADERS), profile
    full = _apt_packages(spec.tools_for("full"))
    # pinned only where a noble version is cited in sandbox.yaml
    assert all("=" in full[name] for name in (*AGENT_UTILS, *BUILD_HEADERS))


def test_full_profile_is_the_default_and_carries_every_enabled_tool(project):
    spec = project.spec
    assert list(spec.profiles) == ["full", "minimal"]
    assert spec.profiles["full"].output == "Dockerfile"
    assert {t.name for t in spec.tools_for("full")} == {t.name for t in spec.tools if t.enabled}


def test_minimal_profile_has_the_shell_git_opencode_and_node(project):
    minimal = _declared(project.spec.tools_for("minimal"))
    for wanted in ("zsh", "tini", "starship", "git", "opencode", "node", "npm", "rg", "fzf", "jq"):
        assert wanted in minimal
    assert "kubectl" not in minimal and "rustc" not in minimal


def test_every_enabled_tool_says_how_it_is_verified(project):
    ctx = RenderContext(project.spec, "full", project.lock)
    kinds = {t.name: t.verification(ctx).kind for t in project.spec.tools if t.enabled}
    assert set(kinds.values()) <= {"pinned-digest", "package-manager", "git-commit", "checksum-file", "unverified"}
    unverified = [t for t in project.spec.tools if t.enabled and kinds[t.name] == "unverified"]
    assert all(getattr(t, "unverified", None) for t in unverified)
    assert kinds["opencode"] == "pinned-digest" and kinds["rust"] == "pinned-digest"
    assert kinds["oh-my-zsh"] == "git-commit"


def test_no_tool_is_disabled(project):
    assert [t.name for t in project.spec.tools if not t.enabled] == []


def test_oh_my_zsh_is_enabled_at_a_full_commit_where_zshrc_looks(project):
    omz = next(t for t in project.spec.tools if t.name == "oh-my-zsh")
    assert omz.enabled and omz.method == "git"
    assert re.fullmatch(r"[0-9a-f]{40}", omz.commit)
    assert omz.dest == "~/.oh-my-zsh"
    zshrc = (ROOT / "files" / "zshrc").read_text(encoding="utf-8")
    assert 'export ZSH="${HOME}/.oh-my-zsh"' in zshrc and 'source "${ZSH}/oh-my-zsh.sh"' in zshrc


def test_enabled_tools_have_a_version_check_unless_noted(project):
    unchecked = [t.name for t in project.spec.tools if t.enabled and not t.check]
    assert unchecked == ["gsd"]


def test_files_exist_and_runtime_scripts_are_shipped_executable(project):
    spec = project.spec
    dests = {f.dest: ROOT / f.src for f in spec.files}
    for source in dests.values():
        assert source.is_file(), source
    for script in (spec.runtime.entrypoint, spec.runtime.healthcheck.script):
        assert script in dests
        assert os.access(dests[script], os.X_OK), dests[script]


def test_rust_carries_rust_analyzer(project):
    rust = next(t for t in project.spec.tools if t.name == "rust")
    assert "rust-analyzer" in rust.components


def test_system_gitconfig_sets_main_and_trusts_the_workspace(project):
    spec = project.spec
    src = {f.dest: ROOT / f.src for f in spec.files}["/etc/gitconfig"]
    settings = [line.strip() for line in src.read_text(encoding="utf-8").splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert settings == ["[init]", "defaultBranch = main", "[safe]", f"directory = {spec.user.workspace_dir}"]


def test_age_declares_every_command_cmd_dots_builds(project):
    age = next(t for t in project.spec.tools if t.name == "age")
    assert age.package == "filippo.io/age/cmd/..."
    assert set(age.commands()) == {"age", "age-keygen", "age-inspect", "age-plugin-batchpass"}


def test_setid_allow_list_covers_what_the_apt_tools_bring(project):
    from generator.docker.smoke import SETID_ALLOWED

    packages = _apt_packages(project.spec.tools_for("full"))
    assert "tmux" in packages and "utempter" in SETID_ALLOWED  # libutempter0's helper, setgid utmp
    assert "openssh-client" in packages and {"ssh-keysign", "ssh-agent"} <= SETID_ALLOWED


def test_opencode_is_watched_on_npm_where_its_whole_releases_are_published(project):
    """GitHub's releases of anomalyco/opencode cannot be asked from every network this project
    runs in; npm's opencode-ai (upstream's CLI package, whose version pins every platform
    package) can, so `outdated` asks it (docs/opencode-2.md says why not opencode-linux-x64)."""
    (opencode,) = [t for t in project.spec.tools if t.name == "opencode"]

    upstream = opencode.upstream()

    assert (upstream.listing, upstream.subject) == ("npm", "opencode-ai")
    # the download and its digests still come from the GitHub release
    assert opencode.url.startswith("https://github.com/anomalyco/opencode/releases/download/")


def test_pnpm_answers_to_every_name_npms_pnpm_package_gives(project):
    """npm's pnpm@12 names four commands in its package.json (`bin`); the release tool that
    replaced it gives the same four, each the one native binary, which reads the name."""
    pnpm = next(t for t in project.spec.tools if t.name == "pnpm")
    assert sorted(pnpm.commands()) == ["pn", "pnpm", "pnpx", "pnx"]
    assert {b.path for b in pnpm.binaries} == {"package/pnpm"}

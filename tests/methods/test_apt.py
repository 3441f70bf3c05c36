"""apt: model validation and the rendered RUN (cache mounts, pins, vendor repositories)."""

from __future__ import annotations

from generator.lint import lint
from tests.integration.small_specs import SHA_A, load, rejected, render_data, spec_data, tool_data


def _apt_runs(rendered, stage="sandbox"):
    return [c for c in rendered.stages()[stage] if c.cmd == "RUN" and "apt-get install" in c.value[0]]


def test_valid_entry_is_accepted():
    spec = load(spec_data(tool_data("apt")))
    tool = spec.tools[1]
    assert tool.method == "apt" and tool.packages == ["jq=1.7.1-3build1"]
    assert tool.unpinned_packages == []


def test_unknown_key_is_rejected_at_its_key():
    rejected(spec_data(tool_data("apt", pakages=["jq"])), "tools[1].pakages", "did you mean 'packages'")


def test_empty_package_list_is_rejected():
    rejected(spec_data(tool_data("apt", packages=[])), "tools[1].packages", "at least 1")


def test_package_with_shell_metacharacters_is_rejected():
    rejected(spec_data(tool_data("apt", packages=["jq", "zsh;rm -rf /"])), "tools[1].packages[1]", "apt package")


def test_unpinned_package_needs_a_reason():
    problem = rejected(spec_data(tool_data("apt", packages=["jq"])), "tools[1]", "unpinned_reason")
    assert "jq" in problem.message


def test_repo_key_must_be_checked_or_explained():
    repo = {"url": "https://apt.example.com/debian", "suite": "stable", "key_url": "https://apt.example.com/key.asc"}
    rejected(spec_data(tool_data("apt", repo=repo)), "tools[1].repo", "key_sha256")


def test_repo_url_with_space_is_rejected():
    repo = {"url": "https://apt.example.com/a b", "suite": "stable", "key_url": "https://x.example/k.gpg", "key_sha256": SHA_A}
    rejected(spec_data(tool_data("apt", repo=repo)), "tools[1].repo.url", "http(s) URL")


def test_render_uses_cache_mounts_and_keeps_lists_out_of_layers():
    rendered = render_data(spec_data(tool_data("apt")))
    runs = _apt_runs(rendered)
    (jq_run,) = [r for r in runs if "jq=1.7.1-3build1" in r.value[0]]
    mounts = [flag for flag in jq_run.flags if flag.startswith("--mount=")]
    assert any("type=cache" in m and "target=/var/cache/apt" in m for m in mounts)
    assert any("type=cache" in m and "target=/var/lib/apt" in m for m in mounts)
    assert "--no-install-recommends" in jq_run.value[0]
    # every RUN that updates apt lists writes them into the cache mount, never a layer
    for command in rendered.instructions:
        if command.cmd == "RUN" and "apt-get update" in command.value[0]:
            assert any("target=/var/lib/apt" in f for f in command.flags), command.original


def test_render_installs_as_root_before_the_user_switch():
    rendered = render_data(spec_data(tool_data("apt")))
    final = rendered.stages()["sandbox"]
    jq_index = next(i for i, c in enumerate(final) if c.cmd == "RUN" and "jq=" in c.value[0])
    user_index = next(i for i, c in enumerate(final) if c.cmd == "USER")
    assert jq_index < user_index


def test_pinned_packages_get_no_hadolint_exception_but_unpinned_ones_do():
    data = spec_data(tool_data("apt"))
    support = data["tools"][0]
    support["packages"] = ["zsh=5.9-4", "tini=0.19.0-1", "git=1:2.43.0-1"]
    del support["unpinned_reason"]
    pinned = render_data(data)
    assert "hadolint ignore=DL3008" not in "\n".join(pinned.text.split("FROM base AS sandbox")[1:])
    unpinned = render_data(spec_data(tool_data("apt", packages=["jq"], unpinned_reason="tracks noble-updates")))
    final = unpinned.text.split("FROM base AS sandbox")[1]
    # one exception for the one apt RUN, with every tool's reason on the lines above it
    assert final.count("hadolint ignore=DL3008") == 1
    lines = final.splitlines()
    index = lines.index("# DL3008 (unpinned apt packages): tracks noble-updates")
    assert lines[index - 1] == "# DL3008 (unpinned apt packages): test fixture follows the distribution"
    assert lines[index + 1] == "# hadolint ignore=DL3008"
    assert lines[index + 2].startswith("RUN ")


def test_consecutive_apt_tools_share_one_run_with_one_update():
    extra = {"name": "shell-extras", "method": "apt", "packages": ["tree=2.1.*", "jq=1.7.1-3build1"]}
    rendered = render_data(spec_data(tool_data("apt"), extra))
    (run,) = _apt_runs(rendered)
    script = run.value[0]
    assert script.count("apt-get update") == 1 and script.count("apt-get install") == 1
    # packages in tool order; the one both tools name is installed once
    packages, cleanup = script.split("--no-install-recommends", 1)[1].split("&&")
    assert [w.strip("'") for w in packages.split()] == ["zsh", "tini", "git", "jq=1.7.1-3build1", "tree=2.1.*"]
    # the logs that record the time of the build do not stay in the image
    assert cleanup.split() == [
        "rm",
        "-rf",
        "/var/log/apt/*",
        "/var/log/dpkg.log",
        "/var/log/alternatives.log",
        "/var/cache/ldconfig/aux-cache",
    ]
    # each tool is still named above the RUN, with its packages
    lines = rendered.text.splitlines()
    start = lines.index("# apt tools, all in one RUN (one `apt-get update`, one dpkg run):")
    assert lines[start + 1 : start + 4] == [
        "#   support: zsh, tini, git",
        "#   jq: jq",
        "#   shell-extras: tree, jq",
    ]
    assert lint(rendered.text, "Dockerfile") == []


def test_every_vendor_repo_is_set_up_before_the_one_update():
    repo_a = {"url": "https://a.example.com/debian", "suite": "stable", "key_url": "https://a.example.com/key.asc", "key_sha256": SHA_A}
    repo_b = {
        "url": "https://b.example.com/apt",
        "suite": "main",
        "key_url": "https://b.example.com/key.gpg",
        "key_unverified": "vendor B publishes no digest",
    }
    rendered = render_data(
        spec_data(
            tool_data("apt", repo=repo_a),
            {"name": "bee", "method": "apt", "packages": ["bee=1.0-1"], "repo": repo_b},
        )
    )
    (run,) = _apt_runs(rendered)
    script = " ".join(run.value[0].split())
    update = script.index("apt-get update")
    jq_key = f"sandbox-fetch 'the repository key of jq' https://a.example.com/key.asc /etc/apt/keyrings/jq.asc --sha256 {SHA_A}"
    bee_key = "sandbox-fetch 'the repository key of bee' https://b.example.com/key.gpg /etc/apt/keyrings/bee.gpg --unverified"
    for needed in ("signed-by=/etc/apt/keyrings/jq.asc", "signed-by=/etc/apt/keyrings/bee.gpg", jq_key, bee_key):
        assert needed in script and script.index(needed) < update
    assert script.count("--sha256") == 1
    assert "# Repository key of bee not checked by digest: vendor B publishes no digest" in rendered.text
    assert lint(rendered.text, "Dockerfile") == []


def test_vendor_repo_is_trusted_only_through_signed_by_and_key_digest():
    repo = {
        "url": "https://apt.example.com/debian",
        "suite": "stable",
        "components": ["main", "contrib"],
        "key_url": "https://apt.example.com/key.asc",
        "key_sha256": SHA_A,
    }
    rendered = render_data(spec_data(tool_data("apt", repo=repo)))
    (run,) = [r for r in _apt_runs(rendered) if "jq=" in r.value[0]]
    script = " ".join(run.value[0].split())
    # the key is fetched and checked (files/sandbox-fetch) before apt trusts the repository
    fetch = f"sandbox-fetch 'the repository key of jq' https://apt.example.com/key.asc /etc/apt/keyrings/jq.asc --sha256 {SHA_A}"
    assert fetch in script
    assert "signed-by=/etc/apt/keyrings/jq.asc" in script
    assert "https://apt.example.com/debian stable main contrib" in script
    assert script.index(fetch) < script.index("apt-get update")
    assert "COPY --chmod=0755 files/sandbox-fetch /usr/local/bin/sandbox-fetch" in rendered.text


def test_unverified_repo_key_is_flagged_in_a_comment():
    repo = {
        "url": "https://apt.example.com/debian",
        "suite": "stable",
        "key_url": "https://apt.example.com/key.gpg",
        "key_unverified": "vendor rotates the key monthly",
    }
    rendered = render_data(spec_data(tool_data("apt", repo=repo)))
    assert "# Repository key of jq not checked by digest: vendor rotates the key monthly" in rendered.text
    (run,) = [r for r in _apt_runs(rendered) if "jq=" in r.value[0]]
    script = " ".join(run.value[0].split())
    assert "sandbox-fetch 'the repository key of jq' https://apt.example.com/key.gpg /etc/apt/keyrings/jq.gpg --unverified" in script
    assert "--sha256" not in script

"""release: its own download stage per tool, a per-arch case with sha256 checks, COPY --from."""

from __future__ import annotations

import functools
import shlex

import pytest

from generator.lockfile import Lock, LockEntry
from tests.integration import small_specs
from tests.integration.small_specs import SHA_A, SHA_B, STAGE_BASE, load, rejected, render_data, tool_data

spec_data = functools.partial(small_specs.spec_data, base=STAGE_BASE)


def _stage_run(rendered, stage="release-rg") -> str:
    (run,) = rendered.runs(stage)
    return run


def test_valid_entry_is_accepted():
    tool = load(spec_data(tool_data("release"))).tools[1]
    assert tool.archive_type == "tar.gz"
    assert tool.asset_url("arm64") == "https://example.com/rg/15.1.0/rg-15.1.0-aarch64.tar.gz"


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"version": "latest"}, "tools[1].version", "moving version"),
        ({"version": "1.0 && id"}, "tools[1].version", "exact version"),
        ({"url": "https://example.com/$(id)/{asset}"}, "tools[1].url", "http(s) URL"),
        ({"assets": {"amd64": "a.tar.gz", "riscv": "b.tar.gz"}}, "tools[1].assets.riscv", "'amd64' or 'arm64'"),
        ({"assets": {"amd64": "a;b.tar.gz", "arm64": "b.tar.gz"}}, "tools[1].assets.amd64", "asset file name"),
        ({"sha256": {"amd64": "ABC", "arm64": SHA_B}}, "tools[1].sha256.amd64", "64 lowercase hex"),
        ({"archive": "rar"}, "tools[1].archive", "expected 'raw'"),
        ({"binaries": [{"path": "rg", "name": "r g"}]}, "tools[1].binaries[0].name", "command name"),
        ({"checksum_file": {"url": "https://example.com/sums", "format": "md5"}}, "tools[1].checksum_file.format", "sha256sum"),
    ],
)
def test_invalid_fields_are_rejected_at_their_path(changes, field, says):
    rejected(spec_data(tool_data("release", **changes)), field, says)


def test_a_download_must_say_how_it_is_verified():
    rejected(spec_data(tool_data("release", drop=("sha256",))), "tools[1]", "say how the download is verified")


def test_every_platform_needs_an_asset():
    data = spec_data(tool_data("release", assets={"amd64": "rg.tar.gz"}, sha256={"amd64": SHA_A}))
    rejected(data, "tools[1].assets", "no asset for arm64")
    # with only amd64 declared, one asset is enough
    load({**data, "platforms": ["linux/amd64"]})


def test_every_platform_needs_a_digest_when_digests_are_pinned():
    rejected(spec_data(tool_data("release", sha256={"amd64": SHA_A})), "tools[1].sha256", "no sha256 for arm64")


def test_raw_downloads_have_no_paths_inside():
    tool = tool_data("release", assets={"amd64": "rg-amd64", "arm64": "rg-arm64"})
    rejected(spec_data(tool), "tools[1]", "raw download")


def test_renders_its_own_stage_from_base():
    rendered = render_data(spec_data(tool_data("release")))
    stages = rendered.stages()
    assert "release-rg" in stages
    assert stages["release-rg"][0].value[0] == "base"
    assert ("ARG", ("TARGETARCH",)) in [(c.cmd, c.value) for c in stages["release-rg"]]
    # the stage comes before the final image, which copies its output
    names = list(stages)
    assert names.index("release-rg") < names.index("sandbox")
    copies = [c for c in stages["sandbox"] if c.cmd == "COPY" and "--from=release-rg" in c.flags]
    assert len(copies) == 1 and copies[0].value == ("/out/", "/")
    assert not [c for c in stages["sandbox"] if c.cmd == "RUN" and "example.com/rg" in c.value[0]]


def _options(run: str) -> list[tuple[str, ...]]:
    """The stage's RUN as (scope, option, values...) tuples, after the command and the tool:
    scope is '' before the first --asset, else the architecture of the --asset before it."""
    words = shlex.split(run)
    assert words[:2] == ["sandbox-install-release", "rg"], words[:2]
    options: list[tuple[str, ...]] = []
    scope = ""
    for word in words[2:]:
        if word.startswith("--"):
            options.append((scope, word))
        else:
            options[-1] += (word,)
            if options[-1][1] == "--asset" and len(options[-1]) == 3:
                scope = word
    return options


def _option(run: str, name: str, scope: str | None = None) -> list[tuple[str, ...]]:
    """The values of each ``name`` option (of ``scope`` only, when given; else of any,
    prefixed by the architecture it is given for: '' for every architecture)."""
    found = [values for values in _options(run) if values[1] == name]
    if scope is not None:
        return [values[2:] for values in found if values[0] == scope]
    return [((values[0],) if values[0] and name != "--asset" else ()) + values[2:] for values in found]


def test_the_stage_states_the_spec_facts_one_per_line():
    rendered = render_data(spec_data(tool_data("release")))
    (stage,) = [block for block in rendered.text.split("\n\n") if "AS release-rg" in block]
    assert stage.splitlines() == [
        "# rg: pinned-digest (sha256 in sandbox.yaml)",
        "FROM base AS release-rg",
        "ARG TARGETARCH",
        "RUN sandbox-install-release rg \\",
        "      --version 15.1.0 \\",
        "      --archive tar.gz \\",
        "      --from 'https://example.com/rg/{version}/' \\",
        "      --asset amd64 'rg-{version}-x86_64.tar.gz' \\",
        f"        --sha256 {SHA_A} \\",
        "        --binary rg 'rg-{version}-x86_64/rg' \\",
        "      --asset arm64 'rg-{version}-aarch64.tar.gz' \\",
        f"        --sha256 {SHA_B} \\",
        "        --binary rg 'rg-{version}-aarch64/rg'",
    ]
    # the script is copied into the base stage once
    assert rendered.text.count("COPY --chmod=0755 files/sandbox-install-release /usr/local/bin/sandbox-install-release") == 1


def test_what_is_the_same_on_every_platform_is_written_once():
    # one platform: everything is shared, and its asset says which platform that is
    data = {**spec_data(tool_data("release", sha256={"amd64": SHA_A})), "platforms": ["linux/amd64"]}
    run = _stage_run(render_data(data))
    assert run.endswith(" --asset amd64 'rg-{version}-x86_64.tar.gz'")
    assert _option(run, "--sha256") == [(SHA_A,)] and _option(run, "--binary") == [("rg", "rg-{version}-x86_64/rg")]
    # a directory per platform, a checksum file of the same name in each
    tool = tool_data(
        "release", drop=("sha256",), url="https://dl.example.com/v{version}/{arch}/{asset}", assets={"amd64": "rg", "arm64": "rg"},
        binaries=[], checksum_file={"url": "https://dl.example.com/v{version}/{arch}/rg.sha256"},
    )  # fmt: skip
    run = _stage_run(render_data(spec_data(tool)))
    assert _option(run, "--from") == [
        ("amd64", "https://dl.example.com/v{version}/amd64/"),
        ("arm64", "https://dl.example.com/v{version}/arm64/"),
    ]
    assert _option(run, "--checksums") == [("rg.sha256",)] and _option(run, "--binary") == [("rg", "rg")]
    assert _option(run, "--url") == []


def test_a_download_not_named_like_its_asset_is_given_its_url():
    tool = tool_data("release", url="https://example.com/get?file={asset},v={version}")
    run = _stage_run(render_data(spec_data(tool)))
    assert _option(run, "--from") == [("https://example.com/",)]
    assert _option(run, "--url") == [
        ("amd64", "get?file=rg-{version}-x86_64.tar.gz,v={version}"),
        ("arm64", "get?file=rg-{version}-aarch64.tar.gz,v={version}"),
    ]
    # a checksum file whose URL would read as a URL of its own inside --from stays whole
    tool = tool_data("release", drop=("sha256",), checksum_file={"url": "https://example.com/rg/{version}/x?u=https://y/{asset}"})
    assert _option(_stage_run(render_data(spec_data(tool))), "--checksums")[0][1].startswith("https://example.com/rg/{version}/x?u=")


def test_checksum_file_is_named_when_no_digest_is_pinned():
    tool = tool_data("release", drop=("sha256",), checksum_file={"url": "https://example.com/rg/{version}/SHA256SUMS"})
    run = _stage_run(render_data(spec_data(tool)))
    # beside the download: only its name (the directory is written once, in --from)
    assert _option(run, "--checksums") == [("SHA256SUMS",)]
    assert _option(run, "--sha256") == [] and _option(run, "--checksums-format") == []
    bsd = {"url": "https://example.com/rg/{version}/sums-bsd", "format": "bsd"}
    run = _stage_run(render_data(spec_data(tool_data("release", drop=("sha256",), checksum_file=bsd))))
    assert _option(run, "--checksums-format") == [("bsd",)]


def test_unverified_download_says_so():
    tool = tool_data("release", drop=("sha256",), unverified="upstream publishes no checksums")
    rendered = render_data(spec_data(tool))
    run = _stage_run(rendered)
    assert _option(run, "--unverified") == [()]
    assert _option(run, "--sha256") == [] and _option(run, "--checksums") == []
    assert "# rg: unverified (upstream publishes no checksums)" in rendered.text


def test_lock_digest_is_used_only_for_the_url_it_was_computed_from():
    tool = tool_data("release", drop=("sha256",), unverified="not pinned in the spec")
    url = "https://example.com/rg/15.1.0/rg-15.1.0-x86_64.tar.gz"
    lock = Lock(artifacts={"rg": {"amd64": LockEntry(url, SHA_B), "arm64": LockEntry(url, SHA_A)}})
    run = _stage_run(render_data(spec_data(tool), lock=lock))
    # arm64's lock entry names another URL: that arch stays unverified, amd64 is checked
    assert _option(run, "--sha256") == [("amd64", SHA_B)]
    assert _option(run, "--unverified") == [()]


def test_partly_locked_release_keeps_the_checksum_file_for_unpinned_arches():
    tool = tool_data("release", drop=("sha256",), checksum_file={"url": "https://example.com/{asset}.sha256"})
    url = "https://example.com/rg/15.1.0/rg-15.1.0-x86_64.tar.gz"
    lock = Lock(artifacts={"rg": {"amd64": LockEntry(url, SHA_B)}})
    run = _stage_run(render_data(spec_data(tool), lock=lock))
    assert _option(run, "--sha256") == [("amd64", SHA_B)]
    # outside the download's directory: a URL of its own, filled for each architecture
    assert _option(run, "--checksums") == [
        ("amd64", "https://example.com/rg-{version}-x86_64.tar.gz.sha256"),
        ("arm64", "https://example.com/rg-{version}-aarch64.tar.gz.sha256"),
    ]
    assert _option(run, "--unverified") == []


def test_fully_locked_release_drops_the_checksum_file():
    tool = tool_data("release", drop=("sha256",), checksum_file={"url": "https://example.com/{asset}.sha256"})
    lock = Lock(
        artifacts={
            "rg": {
                "amd64": LockEntry("https://example.com/rg/15.1.0/rg-15.1.0-x86_64.tar.gz", SHA_A),
                "arm64": LockEntry("https://example.com/rg/15.1.0/rg-15.1.0-aarch64.tar.gz", SHA_B),
            }
        }
    )
    run = _stage_run(render_data(spec_data(tool), lock=lock))
    assert _option(run, "--sha256") == [("amd64", SHA_A), ("arm64", SHA_B)]
    assert _option(run, "--checksums") == []


def test_raw_download_is_installed_as_the_asset_itself():
    tool = tool_data("release", assets={"amd64": "rg-amd64", "arm64": "rg-arm64"}, binaries=[])
    run = _stage_run(render_data(spec_data(tool)))
    assert _option(run, "--archive") == [("raw",)]
    assert _option(run, "--binary") == [("amd64", "rg", "rg-amd64"), ("arm64", "rg", "rg-arm64")]


def test_tree_is_named_with_binaries_inside_it():
    tool = tool_data("release", tree="{stem}", binaries=[{"path": "bin/rg", "name": "rg"}])
    run = _stage_run(render_data(spec_data(tool)))
    assert _option(run, "--tree") == [("amd64", "rg-{version}-x86_64"), ("arm64", "rg-{version}-aarch64")]
    assert _option(run, "--binary") == [("rg", "bin/rg")]


@pytest.mark.parametrize(("asset", "archive"), [("x.zip", "zip"), ("x.tar.xz", "tar.xz"), ("x.tbz", "tar.bz2"), ("x.tgz", "tar.gz")])
def test_archive_type_follows_the_asset_name(asset, archive):
    tool = tool_data("release", assets={"amd64": asset, "arm64": asset}, binaries=[{"path": "rg", "name": "rg"}])
    assert _option(_stage_run(render_data(spec_data(tool))), "--archive") == [(archive,)]


def test_the_base_stage_copies_the_script_only_when_a_stage_runs_it():
    assert "sandbox-install-release" not in render_data(spec_data()).text


@pytest.mark.parametrize(("asset", "package"), [("x.zip", "unzip"), ("x.tar.xz", "xz-utils"), ("x.tar.bz2", "bzip2")])
def test_the_unpacker_must_be_in_the_base_stage(asset, package):
    tool = tool_data("release", assets={"amd64": asset, "arm64": asset}, binaries=[{"path": "rg", "name": "rg"}])
    data = spec_data(tool)
    data["base"]["packages"] = [p for p in STAGE_BASE["packages"] if p != package]
    rejected(data, "tools[1].method", f"needs {package!r}; add it to base.packages")
    data["base"]["packages"].append(f"{package}=1.0-1")  # a pinned package counts too
    load(data)


def test_downloads_need_curl_in_the_base_stage():
    data = spec_data(tool_data("release"), base={"image": "ubuntu", "tag": "24.04", "packages": ["ca-certificates"]})
    rejected(data, "tools[1].method", "needs 'curl'")

"""release: its own download stage per tool, a per-arch case with sha256 checks, COPY --from."""

from __future__ import annotations

import functools

import pytest

import conftest
from conftest import SHA_A, SHA_B, STAGE_BASE, load, rejected, render_data, tool_data
from generator.lockfile import Lock, LockEntry

spec_data = functools.partial(conftest.spec_data, base=STAGE_BASE)


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
        ({"assets": {"amd64": "a;b.tar.gz", "arm64": "b.tar.gz"}}, "tools[1].assets.amd64", "relative file name"),
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


def test_per_arch_case_pins_each_digest_and_checks_it_before_unpacking():
    run = _stage_run(render_data(spec_data(tool_data("release"))))
    assert run.startswith('case "${TARGETARCH}" in')
    amd64 = run[run.index("amd64)"): run.index(";;", run.index("amd64)"))]
    arm64 = run[run.index("arm64)"): run.index(";;", run.index("arm64)"))]
    assert f"sha256={SHA_A}" in amd64 and "rg-15.1.0-x86_64.tar.gz" in amd64
    assert f"sha256={SHA_B}" in arm64 and "rg-15.1.0-aarch64.tar.gz" in arm64
    assert '*) echo "sandbox: rg has no release asset for ${TARGETARCH}" >&2; exit 1' in run
    check = run.index('sha256sum --check')
    assert run.index('curl -fsSL') < check < run.index('tar -xzf') < run.index("install -D -m 0755")
    assert "/out/usr/local/bin/rg" in run


def test_checksum_file_is_fetched_and_the_asset_looked_up_in_it():
    tool = tool_data("release", drop=("sha256",), checksum_file={"url": "https://example.com/rg/{version}/SHA256SUMS"})
    run = _stage_run(render_data(spec_data(tool)))
    assert "sums=https://example.com/rg/15.1.0/SHA256SUMS" in run
    assert run.index('-o checksums "${sums}"') < run.index("awk") < run.index("sha256sum --check")
    assert 'if [ -z "${sha256}" ]' in run  # an asset missing from the file fails the build


def test_unverified_download_has_no_check_and_says_so():
    tool = tool_data("release", drop=("sha256",), unverified="upstream publishes no checksums")
    rendered = render_data(spec_data(tool))
    assert "sha256sum" not in _stage_run(rendered)
    assert "# rg 15.1.0: unverified (upstream publishes no checksums)" in rendered.text


def test_lock_digest_is_used_only_for_the_url_it_was_computed_from():
    tool = tool_data("release", drop=("sha256",), unverified="not pinned in the spec")
    url = "https://example.com/rg/15.1.0/rg-15.1.0-x86_64.tar.gz"
    lock = Lock(artifacts={"rg": {"amd64": LockEntry(url, SHA_B), "arm64": LockEntry(url, SHA_A)}})
    run = _stage_run(render_data(spec_data(tool), lock=lock))
    amd64 = run[run.index("amd64)"): run.index(";;", run.index("amd64)"))]
    arm64 = run[run.index("arm64)"): run.index(";;", run.index("arm64)"))]
    assert f"sha256={SHA_B}" in amd64
    assert "sha256=" not in arm64  # its lock entry names another URL
    # only some arches are pinned: the check runs where a digest exists, never with an empty one
    assert 'if [ -n "${sha256:-}" ] && ! echo "${sha256}  ${asset}" | sha256sum --check' in run


def test_partly_locked_release_fetches_the_checksum_file_only_for_unpinned_arches():
    tool = tool_data("release", drop=("sha256",), checksum_file={"url": "https://example.com/{asset}.sha256"})
    url = "https://example.com/rg/15.1.0/rg-15.1.0-x86_64.tar.gz"
    lock = Lock(artifacts={"rg": {"amd64": LockEntry(url, SHA_B)}})
    run = _stage_run(render_data(spec_data(tool), lock=lock))
    amd64 = run[run.index("amd64)"): run.index(";;", run.index("amd64)"))]
    arm64 = run[run.index("arm64)"): run.index(";;", run.index("arm64)"))]
    assert f"sha256={SHA_B}" in amd64 and "sums=" not in amd64
    assert "sums=" in arm64 and "sha256=" not in arm64
    assert 'if [ -z "${sha256:-}" ]; then curl' in run
    assert 'if ! echo "${sha256}  ${asset}" | sha256sum --check' in run  # unconditional: every arch checked


def test_raw_download_is_installed_without_unpacking():
    tool = tool_data("release", assets={"amd64": "rg-amd64", "arm64": "rg-arm64"}, binaries=[])
    run = _stage_run(render_data(spec_data(tool)))
    assert "tar " not in run and "unzip" not in run
    assert 'install -D -m 0755 "${src0}" /out/usr/local/bin/rg' in run


def test_tree_is_installed_under_opt_with_links():
    tool = tool_data("release", tree="{stem}", binaries=[{"path": "bin/rg", "name": "rg"}])
    run = _stage_run(render_data(spec_data(tool)))
    assert 'mv "${tree}" /out/opt/rg' in run
    assert 'ln -s "/opt/rg/${src0}" /out/usr/local/bin/rg' in run


@pytest.mark.parametrize(("asset", "unpack"), [("x.zip", "unzip -q"), ("x.tar.xz", "tar -xJf"), ("x.tbz", "tar -xjf")])
def test_archive_type_follows_the_asset_name(asset, unpack):
    tool = tool_data("release", assets={"amd64": asset, "arm64": asset}, binaries=[{"path": "rg", "name": "rg"}])
    assert unpack in _stage_run(render_data(spec_data(tool)))


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

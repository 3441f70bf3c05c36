"""files/sandbox-install-release, run for real: archives of every kind the release method
unpacks, built here and served over loopback to the real curl; wrong digests, checksum files
that do not list the asset, archives without the named binary; the facts of each
architecture, and {version}, the one placeholder it fills (the URLs it fetches for the
stages the generator writes: tests/supply/test_urls_built.py)."""

from __future__ import annotations

import functools
import hashlib
import io
import os
import stat
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.integration.scripts import path_with_scripts
from tests.integration.servers import FileServer

SCRIPT = Path(__file__).resolve().parent.parent / "files" / "sandbox-install-release"
BINARY = b"#!/bin/sh\necho tool 1.2.3\n"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tar(mode: str, members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=f"w:{mode}") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


#: asset suffix -> (--archive, archive of the members)
PACKERS = {
    ".tar.gz": ("tar.gz", functools.partial(tar, "gz")),
    ".tgz": ("tar.gz", functools.partial(tar, "gz")),
    ".tar.xz": ("tar.xz", functools.partial(tar, "xz")),
    ".tar.bz2": ("tar.bz2", functools.partial(tar, "bz2")),
    ".zip": ("zip", zipped),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    """(directory served, its base URL): files written into it are downloadable."""
    root = tmp_path_factory.mktemp("site")
    with FileServer(root) as server:
        yield root, server.url


def install(tmp_path: Path, tool: str, *args: str, arch: str = "amd64") -> subprocess.CompletedProcess[str]:
    """Run the script as a release stage does, installing under tmp_path/out."""
    env = {"PATH": path_with_scripts(), "TARGETARCH": arch, "TMPDIR": str(tmp_path)}
    return subprocess.run(
        ["bash", str(SCRIPT), tool, *args, "--into", str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def installed(tmp_path: Path, name: str) -> Path:
    return tmp_path / "out" / "usr" / "local" / "bin" / name


def publish(site, name: str, data: bytes) -> None:
    root, _ = site
    (root / name).write_bytes(data)


def test_the_script_is_executable():
    assert SCRIPT.stat().st_mode & stat.S_IXUSR


@pytest.mark.parametrize("suffix", PACKERS)
def test_each_archive_kind_is_verified_unpacked_and_installed(site, tmp_path, suffix):
    kind, pack = PACKERS[suffix]
    asset = f"tool-1.2.3-x86_64{suffix}"
    data = pack({"tool-1.2.3-x86_64/bin/tool": BINARY, "tool-1.2.3-x86_64/README": b"docs\n"})
    publish(site, asset, data)
    result = install(
        tmp_path, "tool",
        "--version", "1.2.3",
        "--archive", kind,
        "--from", f"{site[1]}/",
        "--binary", "tool", "tool-{version}-x86_64/bin/tool",
        "--asset", "amd64", "tool-{version}-x86_64" + suffix,
        "--sha256", sha256(data),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    binary = installed(tmp_path, "tool")
    assert binary.read_bytes() == BINARY
    assert stat.S_IMODE(binary.stat().st_mode) == 0o755
    # only the binaries reach /out; the download and the rest of the archive stay behind
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == ["bin", "local", "tool", "usr"]


def test_a_raw_download_is_the_binary_itself(site, tmp_path):
    publish(site, "tool_linux_arm64", BINARY)
    result = install(
        tmp_path, "tool",
        "--version", "1.2.3",
        "--archive", "raw",
        "--from", f"{site[1]}/",
        "--asset", "amd64", "tool_linux_amd64",
        "--sha256", OTHER,
        "--binary", "tool", "tool_linux_amd64",
        "--asset", "arm64", "tool_linux_arm64",
        "--sha256", sha256(BINARY),
        "--binary", "tool", "tool_linux_arm64",
        arch="arm64",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert installed(tmp_path, "tool").read_bytes() == BINARY


def test_a_tree_goes_to_opt_with_links_to_its_binaries(site, tmp_path):
    data = tar("gz", {"node-v1/bin/node": BINARY, "node-v1/lib/x.js": b"x\n"})
    publish(site, "node-v1.tar.gz", data)
    result = install(
        tmp_path, "node",
        "--version", "1",
        "--archive", "tar.gz",
        "--from", f"{site[1]}/",
        "--tree", "node-v{version}",
        "--binary", "node", "bin/node",
        "--asset", "amd64", "node-v{version}.tar.gz",
        "--sha256", sha256(data),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "opt" / "node" / "lib" / "x.js").read_bytes() == b"x\n"
    assert os.readlink(installed(tmp_path, "node")) == "/opt/node/bin/node"


#: a binary that answers to the name it was run by, as pnpm does (pnpx is pnpm dlx)
BY_NAME = b'#!/bin/sh\necho "run as ${0##*/}"\n'


def test_a_second_name_for_one_file_is_a_hard_link_and_other_files_are_their_own(site, tmp_path):
    data = tar("gz", {"package/pnpm": BY_NAME, "package/helper": BINARY})
    publish(site, "exe.linux-x64-1.0.0.tgz", data)
    result = install(
        tmp_path, "pnpm",
        "--version", "1.0.0",
        "--archive", "tar.gz",
        "--from", f"{site[1]}/",
        "--binary", "pnpm", "package/pnpm",
        "--binary", "pnpx", "package/pnpm",
        "--binary", "pn", "./package//pnpm",  # the same file, spelled otherwise
        "--binary", "helper", "package/helper",
        "--asset", "amd64", "exe.linux-x64-{version}.tgz",
        "--sha256", sha256(data),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    names = [installed(tmp_path, name) for name in ("pnpm", "pnpx", "pn")]
    # one file under three names: not a copy each, and not a symlink (whose target's name a
    # binary would read instead of the one it was run by)
    assert not any(path.is_symlink() for path in names)
    assert len({path.stat().st_ino for path in names}) == 1
    assert names[0].stat().st_nlink == 3
    assert stat.S_IMODE(names[0].stat().st_mode) == 0o755
    for path in names:
        assert subprocess.run([path], capture_output=True, text=True, check=True).stdout == f"run as {path.name}\n"
    helper = installed(tmp_path, "helper")
    assert helper.stat().st_ino != names[0].stat().st_ino and helper.stat().st_nlink == 1
    assert helper.read_bytes() == BINARY


def test_two_names_for_a_raw_download_are_one_file(site, tmp_path):
    publish(site, "tool-by-name", BY_NAME)
    result = install(
        tmp_path, "tool", "--version", "1", "--from", f"{site[1]}/", "--binary", "tool", "tool-by-name",
        "--binary", "tool2", "tool-by-name", "--asset", "amd64", "tool-by-name", "--sha256", sha256(BY_NAME),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert installed(tmp_path, "tool").stat().st_ino == installed(tmp_path, "tool2").stat().st_ino
    assert subprocess.run([installed(tmp_path, "tool2")], capture_output=True, text=True, check=True).stdout == "run as tool2\n"


def test_a_name_given_twice_is_refused_before_the_download(site, tmp_path):
    data = tar("gz", {"a": BINARY, "b": BINARY})
    publish(site, "twice.tar.gz", data)
    result = install(
        tmp_path, "tool", "--version", "1", "--archive", "tar.gz", "--from", f"{site[1]}/",
        "--binary", "tool", "a", "--binary", "tool", "b", "--asset", "amd64", "twice.tar.gz", "--sha256", sha256(data),
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == "sandbox: tool: --binary tool is given twice"
    assert not list(tmp_path.glob("tmp.*/twice.tar.gz")) and not (tmp_path / "out").exists()


def _with_sums(site, tmp_path, sums: str, *extra: str, asset: str = "tool-amd64.tar.gz"):
    data = tar("gz", {"tool": BINARY})
    publish(site, asset, data)
    publish(site, "SUMS", sums.format(digest=sha256(data), asset=asset).encode())
    return install(
        tmp_path, "tool",
        "--version", "1.2.3",
        *extra,
        "--archive", "tar.gz",
        "--from", f"{site[1]}/",
        "--checksums", f"{site[1]}/SUMS",
        "--binary", "tool", "tool",
        "--asset", "amd64", asset,
    )  # fmt: skip


OTHER = "0" * 64


@pytest.mark.parametrize(
    "sums",
    [
        f"{OTHER}  {{asset}}.sig\n{{digest}}  {{asset}}\n",
        f"{OTHER}  other\n{{digest}} *{{asset}}\n",
        "{digest}  ./{asset}\n",
        "{digest} *./{asset}\n",
        "{digest}\n",  # the asset's own .sha256: one bare digest
    ],
    ids=["plain", "binary-mode", "dot-slash", "binary-mode-dot-slash", "bare-digest"],
)
def test_the_digest_is_looked_up_in_a_sha256sum_file(site, tmp_path, sums):
    result = _with_sums(site, tmp_path, sums)
    assert result.returncode == 0, result.stderr
    assert installed(tmp_path, "tool").read_bytes() == BINARY


@pytest.mark.parametrize("name", ["{asset}", "./{asset}"])
def test_the_digest_is_looked_up_in_a_bsd_file_among_other_algorithms(site, tmp_path, name):
    sums = f"CRC32 ({name}) = deadbeef\nSHA256 ({name}.tar.gz) = {OTHER}\nSHA256 ({name}) = {{digest}}\nSHA512 ({name}) = {OTHER}{OTHER}\n"
    result = _with_sums(site, tmp_path, sums, "--checksums-format", "bsd", asset="tool-bsd.tar.gz")
    assert result.returncode == 0, result.stderr


def test_a_checksum_file_named_without_a_url_sits_beside_the_asset(site, tmp_path):
    root, base = site
    (root / "v1.2.3").mkdir(exist_ok=True)
    data = tar("gz", {"tool": BINARY})
    (root / "v1.2.3" / "tool-x86_64.tar.gz").write_bytes(data)
    (root / "v1.2.3" / "tool_1.2.3_SUMS").write_text(f"{sha256(data)}  tool-x86_64.tar.gz\n")
    result = install(
        tmp_path, "tool",
        "--version", "1.2.3",
        "--archive", "tar.gz",
        "--from", f"{base}/v{{version}}/",
        "--checksums", "tool_{version}_SUMS",
        "--binary", "tool", "tool",
        "--asset", "amd64", "tool-x86_64.tar.gz",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_an_asset_missing_from_the_checksum_file_fails_the_build(site, tmp_path):
    result = _with_sums(site, tmp_path, f"{OTHER}  tool-arm64.tar.gz\n", asset="tool-unlisted.tar.gz")
    assert result.returncode == 1
    assert result.stderr.strip() == "sandbox: tool-unlisted.tar.gz is not listed in the checksum file of tool"
    assert not (tmp_path / "out").exists()


def test_a_wrong_digest_fails_before_anything_is_unpacked(site, tmp_path):
    result = _with_sums(site, tmp_path, f"{OTHER}  {{asset}}\n", asset="tool-tampered.tar.gz")
    assert result.returncode == 1
    assert "sandbox: sha256 mismatch for tool (tool-tampered.tar.gz)" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_pinned_digest_wins_over_the_checksum_file(site, tmp_path):
    # the checksum file lists a wrong digest: only the pinned one may be used
    data = tar("gz", {"tool": BINARY})
    publish(site, "tool-pinned.tar.gz", data)
    publish(site, "BAD-SUMS", f"{OTHER}  tool-pinned.tar.gz\n".encode())
    result = install(
        tmp_path, "tool",
        "--version", "1",
        "--archive", "tar.gz",
        "--from", f"{site[1]}/",
        "--checksums", "BAD-SUMS",
        "--binary", "tool", "tool",
        "--asset", "amd64", "tool-pinned.tar.gz",
        "--sha256", sha256(data),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_a_binary_missing_from_the_archive_is_named(site, tmp_path):
    data = tar("gz", {"tool-1/other": BINARY})
    publish(site, "tool-1.tar.gz", data)
    result = install(
        tmp_path, "tool",
        "--version", "1",
        "--archive", "tar.gz",
        "--from", f"{site[1]}/",
        "--binary", "tool", "tool-{version}/tool",
        "--asset", "amd64", "tool-{version}.tar.gz",
        "--sha256", sha256(data),
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == "sandbox: tool: tool-1.tar.gz has no tool-1/tool"


def test_an_architecture_without_an_asset_fails(tmp_path):
    result = install(
        tmp_path, "tool", "--version", "1", "--unverified", "--from", "http://127.0.0.1:1/", "--binary", "tool", "tool",
        "--asset", "amd64", "tool", arch="arm64",
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == "sandbox: tool has no release asset for arm64"


def test_a_download_that_fails_names_the_tool_and_url(site, tmp_path):
    url = f"{site[1]}/missing.tar.gz"
    result = install(
        tmp_path, "tool", "--version", "1", "--unverified", "--archive", "tar.gz", "--binary", "tool", "tool",
        "--asset", "amd64", "missing.tar.gz", "--url", url,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().endswith(f"sandbox: download failed for tool (missing.tar.gz): {url}")


def test_nothing_is_installed_unchecked_unless_the_stage_says_so(site, tmp_path):
    publish(site, "tool-raw", BINARY)
    args = ["--version", "1", "--from", f"{site[1]}/", "--binary", "tool", "tool-raw", "--asset", "amd64", "tool-raw"]
    refused = install(tmp_path, "tool", *args)
    assert refused.returncode == 1
    assert "sandbox: tool: no sha256 and no checksum file for amd64" in refused.stderr
    allowed = install(tmp_path, "tool", "--unverified", *args)
    assert allowed.returncode == 0, allowed.stderr


@pytest.mark.parametrize(
    "args",
    [[], ["--version"], ["tool", "--version", "1", "--bogus"], ["tool", "--asset", "amd64"], ["tool", "--asset", "amd64", "x", "--sha256"]],
)
def test_bad_arguments_are_refused(tmp_path, args):
    result = install(tmp_path, *args) if args else install(tmp_path, "--version")
    assert result.returncode == 1
    assert result.stderr.startswith("sandbox: ")


# --- the facts of each architecture, and {version} -------------------------------------------


def test_only_the_built_architectures_facts_are_read(site, tmp_path):
    """Facts before the first --asset hold for every architecture; one after an architecture's
    --asset replaces the shared one for it alone, and its --binary adds to the shared ones."""
    root, base = site
    (root / "arm").mkdir(exist_ok=True)
    data = tar("gz", {"shared/tool": BINARY, "arm/extra": BINARY})
    (root / "arm" / "tool-arm.tar.gz").write_bytes(data)
    result = install(
        tmp_path, "tool",
        "--version", "1",
        "--archive", "tar.gz",
        "--from", "http://127.0.0.1:1/nowhere/",
        "--sha256", OTHER,
        "--binary", "tool", "shared/tool",
        "--asset", "amd64", "tool-amd.zip",
        "--from", "http://127.0.0.1:1/amd/",
        "--asset", "arm64", "tool-arm.tar.gz",
        "--from", f"{base}/arm/",
        "--sha256", sha256(data),
        "--binary", "extra", "arm/extra",
        arch="arm64",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert installed(tmp_path, "tool").read_bytes() == installed(tmp_path, "extra").read_bytes() == BINARY


def test_version_is_the_one_placeholder_it_fills(site, tmp_path):
    # every value has {version} replaced (a version with every character the spec allows in
    # one); a {stem}, which the generator fills, is read as it is
    root, base = site
    version = "7.0+b~1_x-2"
    (root / f"v{version}").mkdir(exist_ok=True)
    data = tar("gz", {f"tool-{version}/{{stem}}/tool": BINARY})
    (root / f"v{version}" / f"tool-{version}.tar.gz").write_bytes(data)
    (root / f"v{version}" / f"SUMS-{version}").write_text(f"{sha256(data)}  tool-{version}.tar.gz\n")
    result = install(
        tmp_path, "tool",
        "--version", version,
        "--archive", "tar.gz",
        "--from", f"{base}/v{{version}}/",
        "--checksums", "SUMS-{version}",
        "--tree", "tool-{version}",
        "--binary", "tool", "{stem}/tool",
        "--asset", "amd64", "tool-{version}.tar.gz",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert os.readlink(installed(tmp_path, "tool")) == "/opt/tool/{stem}/tool"


@pytest.mark.parametrize("absolute", [False, True])
def test_a_url_is_the_asset_inside_from_unless_given(site, tmp_path, absolute):
    _, base = site
    data = tar("gz", {"tool": BINARY})
    publish(site, "served-under-another-name", data)
    url = f"{base}/served-under-another-name" if absolute else "served-under-another-name"
    result = install(
        tmp_path, "tool", "--version", "1", "--archive", "tar.gz", "--from", f"{base}/", "--binary", "tool", "tool",
        "--asset", "amd64", "tool.tar.gz", "--url", url, "--sha256", sha256(data),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_a_relative_url_without_from_is_refused(tmp_path):
    result = install(tmp_path, "tool", "--version", "1", "--unverified", "--binary", "tool", "tool", "--asset", "amd64", "tool")
    assert result.returncode == 1
    assert result.stderr.strip() == "sandbox: tool: tool is not a URL, and there is no --from it is inside"


# --- archives that would reach outside what they unpack -------------------------------------

#: a file outside the work directory that a link or a climbing path would install
OUTSIDE = b"#!/bin/sh\necho not the tool\n"


def tar_entries(mode: str, entries: list[tuple[str, str, bytes | str]]) -> bytes:
    """A tar of (name, kind, data or link target) entries; kind is file, dir, symlink or hardlink."""
    kinds = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=f"w:{mode}") as archive:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            info.type, info.mode = kinds[kind], 0o755
            if kind in ("symlink", "hardlink"):
                info.linkname = str(payload)
            data = payload if kind == "file" and isinstance(payload, bytes) else b""
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if kind == "file" else None)
    return buffer.getvalue()


def zip_entries(entries: list[tuple[str, str, bytes | str]]) -> bytes:
    """A zip of (name, kind, data or link target); a symlink is stored as Info-ZIP stores one."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, kind, payload in entries:
            info = zipfile.ZipInfo(name)
            info.create_system = 3  # unix: the external attributes hold the file type
            types = {"file": stat.S_IFREG | 0o755, "dir": stat.S_IFDIR | 0o755, "symlink": stat.S_IFLNK | 0o777}
            info.external_attr = types[kind] << 16
            archive.writestr(info, payload.encode() if isinstance(payload, str) else payload)
    return buffer.getvalue()


def pack_entries(kind: str, entries: list[tuple[str, str, bytes | str]]) -> bytes:
    return zip_entries(entries) if kind == "zip" else tar_entries({"tar.gz": "gz", "tar.xz": "xz", "tar.bz2": "bz2"}[kind], entries)


ARCHIVE_KINDS = {"tar.gz": ".tar.gz", "tar.xz": ".tar.xz", "tar.bz2": ".tar.bz2", "zip": ".zip"}


def install_entries(site, tmp_path, kind: str, entries, *binary: str, name: str) -> subprocess.CompletedProcess[str]:
    """Publish an archive of ``entries`` and install its ``tool`` (or ``binary``) from it."""
    asset = f"{name}-{kind.replace('.', '_')}{ARCHIVE_KINDS[kind]}"
    data = pack_entries(kind, entries)
    publish(site, asset, data)
    return install(
        tmp_path, "tool",
        "--version", "1",
        "--archive", kind,
        "--from", f"{site[1]}/",
        *(binary or ("--binary", "tool", "tool")),
        "--asset", "amd64", asset,
        "--sha256", sha256(data),
    )  # fmt: skip


def refused_before_install(result: subprocess.CompletedProcess[str], tmp_path: Path, *words: str) -> None:
    assert result.returncode == 1, result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("sandbox: tool: "), message
    assert all(word in message for word in words), message
    assert not (tmp_path / "out").exists()
    # nothing was unpacked either: the work directory holds the download alone
    assert not list(tmp_path.glob("tmp.*/unpacked"))


@pytest.mark.parametrize("kind", ARCHIVE_KINDS)
def test_a_symlinked_binary_is_refused_not_installed_from_what_it_points_at(site, tmp_path, kind):
    # before: `[ -f tool ]` and `install tool` followed the link, installing /etc/passwd
    # (or any file of the build stage) as the tool's binary
    target = tmp_path / "secret"
    target.write_bytes(OUTSIDE)
    result = install_entries(site, tmp_path, kind, [("tool", "symlink", str(target))], name="symlinked")
    refused_before_install(result, tmp_path, "symlink", "tool")


@pytest.mark.parametrize("kind", ARCHIVE_KINDS)
def test_a_symlinked_directory_is_refused_with_the_member_named(site, tmp_path, kind):
    entries = [("pkg/bin", "symlink", "/usr/bin"), ("pkg/tool", "file", BINARY)]
    result = install_entries(site, tmp_path, kind, entries, "--binary", "tool", "pkg/tool", name="linkdir")
    refused_before_install(result, tmp_path, "symlink", "pkg/bin")


@pytest.mark.parametrize("kind", ["tar.gz", "tar.xz", "tar.bz2"])
def test_a_hard_link_is_refused(site, tmp_path, kind):
    entries = [("payload", "file", BINARY), ("tool", "hardlink", "payload")]
    result = install_entries(site, tmp_path, kind, entries, name="hardlinked")
    refused_before_install(result, tmp_path, "hard link", "tool")


@pytest.mark.parametrize("kind", ARCHIVE_KINDS)
@pytest.mark.parametrize("member", ["../escaped", "/abs/escaped", "pkg/../../escaped"])
def test_a_member_outside_the_unpack_directory_is_refused(site, tmp_path, kind, member):
    # before: tar dropped the leading '/' or '../' with a warning and went on (and unzip
    # skipped the member), so the archive installed as if nothing were wrong
    entries = [("tool", "file", BINARY), (member, "file", OUTSIDE)]
    result = install_entries(site, tmp_path, kind, entries, name="escaping")
    refused_before_install(result, tmp_path, member, "outside the directory it is unpacked in")
    assert not (tmp_path / "escaped").exists() and not Path("/abs/escaped").exists()


@pytest.mark.parametrize("kind", ARCHIVE_KINDS)
def test_an_archive_of_files_and_directories_still_installs(site, tmp_path, kind):
    entries = [("./", "dir", b""), ("./pkg/", "dir", b""), ("./pkg/tool", "file", BINARY), ("./pkg/a..b", "file", b"x")]
    result = install_entries(site, tmp_path, kind, entries, "--binary", "tool", "pkg/tool", name="plain")
    assert result.returncode == 0, result.stderr
    assert installed(tmp_path, "tool").read_bytes() == BINARY


def test_a_file_of_the_work_directory_is_not_installed_as_a_binary(site, tmp_path):
    # the download (and a checksum file) sit beside what is unpacked; a binary path naming
    # one of them used to install it
    entries = [("tool", "file", BINARY)]
    result = install_entries(site, tmp_path, "tar.gz", entries, "--binary", "tool", "beside-tar_gz.tar.gz", name="beside")
    assert result.returncode == 1
    assert result.stderr.strip() == "sandbox: tool: beside-tar_gz.tar.gz has no beside-tar_gz.tar.gz"
    assert not installed(tmp_path, "tool").exists()


@pytest.mark.parametrize(
    ("option", "words"),
    [
        (("--binary", "tool", "../outside"), "--binary tool ../outside is not a path inside the archive"),
        (("--binary", "tool", "climb-{version}/../../outside"), "--binary tool climb-1/../../outside is not a path inside the archive"),
        (("--binary", "tool", "/etc/passwd"), "--binary tool /etc/passwd is not a path inside the archive"),
        (("--tree", "..", "--binary", "tool", "outside"), "--tree .. is not a directory inside the archive"),
        (("--tree", "climb-{version}/../..", "--binary", "tool", "outside"), "--tree climb-1/../.. is not a directory inside the archive"),
        (("--binary", "../tool", "tool"), "--binary ../tool is not a command name"),
    ],
)
def test_paths_that_climb_out_of_the_archive_are_refused_before_the_download(site, tmp_path, option, words):
    # before: `[ -f ../outside ]` was read in the work directory (tmp_path/tmp.XXXX), so the
    # file beside it was installed as the binary; --tree .. moved the temporary directory
    (tmp_path / "outside").write_bytes(OUTSIDE)
    data = tar("gz", {"tool": BINARY, "climb-1/tool": BINARY})
    publish(site, "climb-1.tar.gz", data)
    result = install(
        tmp_path, "tool", "--version", "1", "--from", f"{site[1]}/", "--archive", "tar.gz", *option,
        "--asset", "amd64", "climb-{version}.tar.gz", "--sha256", sha256(data),
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == f"sandbox: tool: {words}"
    assert not list(tmp_path.glob("tmp.*/climb-1.tar.gz"))  # refused before anything was fetched
    assert not (tmp_path / "out").exists() and (tmp_path / "outside").read_bytes() == OUTSIDE


@pytest.mark.parametrize("asset", ["../escaped.tar.gz", "sub/escaped.tar.gz", "{version}/escaped.tar.gz", ".."])
def test_an_asset_name_that_is_not_a_file_name_is_refused_before_the_download(site, tmp_path, asset):
    # before: curl wrote the download to ../escaped.tar.gz, outside the work directory
    root, base = site
    data = tar("gz", {"tool": BINARY})
    for where in (root / "escaped.tar.gz", root / "sub" / "escaped.tar.gz", root / "1" / "escaped.tar.gz"):
        where.parent.mkdir(exist_ok=True)
        where.write_bytes(data)
    result = install(
        tmp_path, "tool", "--version", "1", "--from", f"{base}/dl/", "--archive", "tar.gz", "--binary", "tool", "tool",
        "--asset", "amd64", asset, "--sha256", sha256(data),
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    filled = asset.replace("{version}", "1")
    assert result.stderr.strip() == f"sandbox: tool: the asset name '{filled}' is not a plain file name"
    assert not (tmp_path / "escaped.tar.gz").exists() and not (tmp_path / "out").exists()

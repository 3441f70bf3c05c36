"""release: the awk programs that pick an asset's digest out of upstream checksum files."""

from __future__ import annotations

import subprocess

import pytest

from generator.methods.release import _SUMS_PROGRAMS

A, B, C = "a" * 64, "b" * 64, "c" * 64


def _pick(fmt: str, text: str, asset: str, tmp_path) -> str:
    sums = tmp_path / "sums"
    sums.write_text(text)
    result = subprocess.run(["awk", "-v", f"asset={asset}", _SUMS_PROGRAMS[fmt], str(sums)], capture_output=True, text=True, check=True)
    return result.stdout.strip()


@pytest.mark.parametrize(
    "line",
    [f"{B}  tool-linux-x64.tar.gz", f"{B} *tool-linux-x64.tar.gz", f"{B}  ./tool-linux-x64.tar.gz", f"{B} *./tool-linux-x64.tar.gz"],
)
def test_sha256sum_names_with_mode_or_dot_slash_prefix(line, tmp_path):
    text = f"{A}  tool-linux-x64.tar.gz.sig\n{line}\n{C}  other-tool-linux-x64.tar.gz\n"
    assert _pick("sha256sum", text, "tool-linux-x64.tar.gz", tmp_path) == B


def test_sha256sum_unlisted_asset_gives_nothing(tmp_path):
    assert _pick("sha256sum", f"{A}  ./tool-a\n{B}  tool-b\n", "tool", tmp_path) == ""


def test_sha256sum_bare_digest_file(tmp_path):
    assert _pick("sha256sum", f"{A}\n", "kubectl", tmp_path) == A


@pytest.mark.parametrize("name", ["yq_linux_amd64", "./yq_linux_amd64"])
def test_bsd_picks_the_sha256_line_among_other_algorithms(name, tmp_path):
    text = (
        f"CRC32 ({name}) = deadbeef\n"
        f"SHA256 ({name}.tar.gz) = {A}\n"
        f"SHA256 ({name}) = {B}\n"
        f"SHA512 ({name}) = {C}{C}\n"
    )
    assert _pick("bsd", text, "yq_linux_amd64", tmp_path) == B

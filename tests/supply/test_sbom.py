"""`sandbox sbom`: the default spec's SBOM, checked by the official libraries (CycloneDX 1.6
with cyclonedx-python-lib's strict JSON validator, SPDX 2.3 with spdx-tools, every purl
with packageurl-python), and the facts it must carry: purls, URLs per platform, digests
from the spec or the lock (never invented), how each tool is verified, the images."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packageurl import PackageURL

from generator.lockfile import Lock, LockEntry
from tests.integration.marks import uses_jsonschema

if TYPE_CHECKING:
    from cyclonedx.validation.json import JsonStrictValidator

ROOT = Path(__file__).resolve().parents[2]
OPENCODE_URL = "https://github.com/anomalyco/opencode/releases/download/v1.18.21/opencode-linux-{}.tar.gz"
OPENCODE_SHA = {
    "amd64": "d910c3ed7613bb5791a328904615d41cc25b7d3a6b470e3199ab0426a995b38a",
    "arm64": "d30d2cba74617f4e7b96e25563c9572ffe453f9eae70fc0df16286813537ee72",
}


@functools.cache
def _validator() -> JsonStrictValidator:
    # imported here: cyclonedx-python-lib takes seconds to import, and a test worker that
    # runs no validating test should not pay for it while collecting
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    return JsonStrictValidator(SchemaVersion.V1_6)


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    for name in ("sandbox.yaml", "sandbox.lock"):
        shutil.copyfile(ROOT / name, tmp_path / name)
    return tmp_path / "sandbox.yaml"


def _cdx(sandbox, spec: Path, *args: str, validate: bool = False) -> dict:
    """The document; validated on request (the schema check takes seconds, so the tests of
    single facts leave it to the ones that validate each profile's whole document)."""
    result = sandbox(spec, "sbom", *args)
    assert result.returncode == 0, result.stderr
    if validate:
        assert _validator().validate_str(result.stdout) is None
    return json.loads(result.stdout)


def _by_name(document: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for component in document["components"]:
        found.setdefault(component["name"], []).append(component)
    return found


def _props(component: dict) -> dict[str, str]:
    return {p["name"]: p["value"] for p in component.get("properties", [])}


def _downloads(component: dict) -> dict[str, dict]:
    return {r["comment"].split(";")[0]: r for r in component.get("externalReferences", []) if r["type"] == "distribution"}


@uses_jsonschema
@pytest.mark.parametrize("profile", ["full", "minimal"])
def test_the_default_spec_gives_a_valid_cyclonedx_document(sandbox, spec, profile):
    document = _cdx(sandbox, spec, "--profile", profile, validate=True)

    assert document["specVersion"] == "1.6"
    assert "timestamp" not in document["metadata"]  # no SOURCE_DATE_EPOCH, no timestamp
    for component in document["components"]:
        purl = component["purl"]
        assert PackageURL.from_string(purl).to_string() == purl  # as packageurl-python writes it
    refs = [c["bom-ref"] for c in document["components"]]
    assert len(refs) == len(set(refs))


def test_every_enabled_tool_of_the_profile_is_listed(sandbox, spec):
    from generator.loader import load_spec

    loaded = load_spec(spec)
    document = _cdx(sandbox, spec, "--profile", "full")
    tools = {_props(c).get("sandbox:tool") for c in document["components"]}

    assert {t.name for t in loaded.tools_for("full")} | {"base"} == tools - {None}
    assert not {t.name for t in loaded.tools if not t.enabled} & tools


def test_release_tool_carries_github_purl_urls_and_spec_digests_per_arch(sandbox, spec):
    (opencode,) = _by_name(_cdx(sandbox, spec))["opencode"]

    assert opencode["version"] == "1.18.21"
    assert opencode["purl"] == "pkg:github/anomalyco/opencode@v1.18.21"
    downloads = _downloads(opencode)
    assert downloads["amd64"]["url"] == OPENCODE_URL.format("x64")
    assert downloads["arm64"]["url"] == OPENCODE_URL.format("arm64")
    for arch in ("amd64", "arm64"):
        assert downloads[arch]["hashes"] == [{"alg": "SHA-256", "content": OPENCODE_SHA[arch]}]
        assert "sha256 from sandbox.yaml" in downloads[arch]["comment"]
    assert _props(opencode)["sandbox:verification"] == "pinned-digest (sha256 in sandbox.yaml)"


PNPM_URL = "https://registry.npmjs.org/@pnpm/exe.linux-{0}/-/exe.linux-{0}-12.21.0.tgz"
PNPM_SHA = {
    "amd64": "5e853227a4fa387a95cf6f61400a83d1fc7e3164943c00e275f8756b75939de2",
    "arm64": "0726f98c09f0f0fe6fb91e376c4d3e7793a544c1f1ec3e20baaeb2bb91c47e1f",
}


def test_pnpm_is_each_platforms_npm_package_pinned_by_the_spec(sandbox, spec):
    (pnpm,) = _by_name(_cdx(sandbox, spec))["pnpm"]

    # two platforms download two npm packages (@pnpm/exe.linux-x64, -arm64): no one npm purl
    # names what both images hold, so the purl is generic and each download names its own
    assert pnpm["purl"] == "pkg:generic/pnpm@12.21.0"
    downloads = _downloads(pnpm)
    for arch, short in (("amd64", "x64"), ("arm64", "arm64")):
        assert downloads[arch]["url"] == PNPM_URL.format(short)
        assert downloads[arch]["hashes"] == [{"alg": "SHA-256", "content": PNPM_SHA[arch]}]
    assert _props(pnpm)["sandbox:verification"] == "pinned-digest (sha256 in sandbox.yaml)"


@pytest.mark.parametrize(("platform", "package"), [("linux/amd64", "exe.linux-x64"), ("linux/arm64", "exe.linux-arm64")])
def test_pnpm_built_for_one_platform_is_that_platforms_npm_package(sandbox, spec, platform, package):
    spec.write_text(spec.read_text().replace("platforms: [linux/amd64, linux/arm64]", f"platforms: [{platform}]"))

    (pnpm,) = _by_name(_cdx(sandbox, spec))["pnpm"]

    assert pnpm["purl"] == f"pkg:npm/%40pnpm/{package}@12.21.0"
    assert PackageURL.from_string(pnpm["purl"]) == PackageURL("npm", "@pnpm", package, "12.21.0")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://registry.npmjs.org/@pnpm/exe.linux-x64/-/exe.linux-x64-1.0.0.tgz", "pkg:npm/%40pnpm/exe.linux-x64@1.0.0"),
        ("https://registry.npmjs.org/left-pad/-/left-pad-1.0.0.tgz", "pkg:npm/left-pad@1.0.0"),
        # another version's tarball, another file, another host, no /-/, a scope without '@'
        ("https://registry.npmjs.org/left-pad/-/left-pad-1.0.1.tgz", None),
        ("https://registry.npmjs.org/left-pad/-/other-1.0.0.tgz", None),
        ("https://mirror.example/left-pad/-/left-pad-1.0.0.tgz", None),
        ("https://registry.npmjs.org/left-pad/left-pad-1.0.0.tgz", None),
        ("https://registry.npmjs.org/pnpm/exe/-/exe-1.0.0.tgz", None),
        ("https://registry.npmjs.org/@a/b/c/-/c-1.0.0.tgz", None),
    ],
)
def test_an_npm_purl_is_made_only_of_the_registrys_tarball_of_that_version(url, expected):
    from generator.purl import npm_tarball

    assert npm_tarball(url, "1.0.0") == expected
    if expected:
        assert PackageURL.from_string(expected).to_string() == expected


def test_a_download_without_a_digest_has_no_hash(sandbox, spec):
    (ripgrep,) = _by_name(_cdx(sandbox, spec))["ripgrep"]

    assert ripgrep["purl"] == "pkg:github/burntsushi/ripgrep@15.2.0"
    assert all("hashes" not in d for d in _downloads(ripgrep).values())
    assert _props(ripgrep)["sandbox:verification"].startswith("checksum-file")


def test_digests_from_the_lock_win_and_images_get_theirs(sandbox, spec):
    lock = Lock.read(spec.parent / "sandbox.lock")
    lock.set("opencode", "amd64", LockEntry(OPENCODE_URL.format("x64"), "a" * 64))
    ripgrep_url = "https://github.com/BurntSushi/ripgrep/releases/download/15.2.0/ripgrep-15.2.0-x86_64-unknown-linux-musl.tar.gz"
    lock.set("ripgrep", "amd64", LockEntry(ripgrep_url, "b" * 64))
    lock.images["ubuntu:24.04"] = "sha256:" + "c" * 64
    lock.write(spec.parent / "sandbox.lock")

    found = _by_name(_cdx(sandbox, spec, "--profile", "full"))

    opencode = _downloads(found["opencode"][0])
    assert opencode["amd64"]["hashes"][0]["content"] == "a" * 64
    assert "sha256 from sandbox.lock" in opencode["amd64"]["comment"]
    # checked against nothing when locked: the spec pins another digest and has no checksum file
    assert "pinned on first use by sandbox lock" in opencode["amd64"]["comment"]
    assert opencode["arm64"]["hashes"][0]["content"] == OPENCODE_SHA["arm64"]  # not locked: the spec's
    ripgrep = _downloads(found["ripgrep"][0])
    assert ripgrep["amd64"]["hashes"][0]["content"] == "b" * 64
    assert "first use" not in ripgrep["amd64"]["comment"]  # `lock` checks it against the checksum file
    assert "hashes" not in ripgrep["arm64"]
    (ubuntu,) = found["ubuntu"]
    assert ubuntu["purl"] == "pkg:docker/ubuntu@sha256:" + "c" * 64 + "?tag=24.04"
    assert ubuntu["hashes"] == [{"alg": "SHA-256", "content": "c" * 64}]


def test_apt_packages_are_one_component_each_with_the_pin_or_no_version(sandbox, spec):
    found = _by_name(_cdx(sandbox, spec))

    (git,) = [c for c in found["git"] if _props(c)["sandbox:tool"] == "git"]
    assert git["version"] == "1:2.43.*"
    assert git["purl"] == "pkg:deb/ubuntu/git@1:2.43.%2A?distro=ubuntu-24.04"
    assert _props(git)["sandbox:verification"] == "package-manager (apt, signed distribution archive)"
    (sudo,) = found["sudo"]
    assert "version" not in sudo  # unpinned: no version is made up
    assert sudo["purl"] == "pkg:deb/ubuntu/sudo?distro=ubuntu-24.04"
    assert {_props(c)["sandbox:tool"] for c in found["unzip"]} == {"base", "archives"}


def test_apt_purls_name_the_arch_when_the_spec_builds_one_platform(sandbox, spec):
    text = spec.read_text().replace("platforms: [linux/amd64, linux/arm64]", "platforms: [linux/arm64]")
    spec.write_text(text)

    (sudo,) = _by_name(_cdx(sandbox, spec))["sudo"]

    assert sudo["purl"] == "pkg:deb/ubuntu/sudo?arch=arm64&distro=ubuntu-24.04"


def test_npm_uv_go_cargo_and_git_tools(sandbox, spec):
    found = _by_name(_cdx(sandbox, spec, "--profile", "full"))

    assert found["gsd"][0]["purl"] == "pkg:npm/get-shit-done-cc@1.42.3"
    # gsd has a transitive lock in the committed sandbox.lock (see docs/supply-chain.md)
    assert _props(found["gsd"][0])["sandbox:verification"] == (
        "package-manager (npm ci: every package's sha512 integrity from locks/gsd/package-lock.json)"
    )
    assert _props(found["black"][0])["sandbox:verification"] == (
        "package-manager (uv pip install --require-hashes: every package's sha256 from locks/black/requirements.txt)"
    )
    assert found["black"][0]["purl"] == "pkg:pypi/black@26.10.1"
    assert found["shfmt"][0]["purl"] == "pkg:golang/mvdan.cc/sh/v3@v3.13.1#cmd/shfmt"
    assert found["age"][0]["purl"] == "pkg:golang/filippo.io/age@v1.3.1#cmd"
    assert found["cross"][0]["purl"] == "pkg:cargo/cross@0.2.5"
    assert found["node"][0]["purl"] == "pkg:generic/node@24.21.0"
    (omz,) = found["oh-my-zsh"]
    commit = "830a5bcfd29fd577fdcd5f3b8e98cbaf973421fa"
    assert omz["version"] == commit
    assert omz["purl"] == f"pkg:github/ohmyzsh/ohmyzsh@{commit}"
    assert {"type": "vcs", "url": "https://github.com/ohmyzsh/ohmyzsh.git", "comment": f"commit {commit}"} in omz["externalReferences"]
    assert _props(omz)["sandbox:verification"] == "git-commit (commit 830a5bcfd29f)"
    (rust,) = [c for c in found["rust"] if c["type"] == "application"]
    assert {d["url"].rsplit("/", 2)[1] for d in _downloads(rust).values()} == {
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
    }
    assert all(d["hashes"] for d in _downloads(rust).values())  # rustup-init's sha256 from the spec


def test_builder_images_are_listed_only_where_a_tool_uses_them(sandbox, spec):
    full = _by_name(_cdx(sandbox, spec, "--profile", "full"))
    (golang,) = full["golang"]
    assert golang["purl"] == "pkg:docker/golang@1.27.0-bookworm"
    assert golang["scope"] == "excluded"  # compiles in its own stage; not in the final image
    assert "hashes" not in golang
    minimal = _by_name(_cdx(sandbox, spec, "--profile", "minimal"))
    assert "golang" not in minimal and "rust" not in minimal


def test_output_is_byte_identical_and_written_atomically(sandbox, spec, monkeypatch):
    first = sandbox(spec, "sbom").stdout
    assert sandbox(spec, "sbom").stdout == first

    target = spec.parent / "sbom.cdx.json"
    result = sandbox(spec, "sbom", "--output", str(target))
    assert result.returncode == 0 and result.stdout == ""
    assert target.read_text() == first
    assert sorted(p.name for p in spec.parent.iterdir() if p.name.startswith(".sbom")) == []  # no temp file left
    assert "unchanged" in sandbox(spec, "sbom", "--output", str(target)).stderr

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    stamped = json.loads(sandbox(spec, "sbom").stdout)
    assert stamped["metadata"]["timestamp"] == "2026-01-01T00:00:00Z"


def test_the_serial_number_follows_the_content(sandbox, spec):
    before = json.loads(sandbox(spec, "sbom").stdout)["serialNumber"]
    spec.write_text(spec.read_text().replace('version: "1.18.21"', 'version: "1.18.22"'))
    after = json.loads(sandbox(spec, "sbom").stdout)["serialNumber"]
    assert before.startswith("urn:uuid:") and before != after


def test_an_unknown_profile_is_a_usage_error(sandbox, spec):
    result = sandbox(spec, "sbom", "--profile", "nope")
    assert result.returncode == 2 and "unknown profile 'nope'" in result.stderr


# -- SPDX 2.3 ---------------------------------------------------------------------------


def _spdx(sandbox, spec: Path, tmp_path: Path, *args: str):
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    target = tmp_path / "sbom.spdx.json"
    result = sandbox(spec, "sbom", "--standard", "spdx", "--output", str(target), *args)
    assert result.returncode == 0, result.stderr
    document = parse_file(str(target))
    assert validate_full_spdx_document(document) == []
    return document, json.loads(target.read_text())


@pytest.mark.parametrize("profile", ["full", "minimal"])
def test_the_default_spec_gives_a_valid_spdx_document(sandbox, spec, tmp_path, profile):
    document, raw = _spdx(sandbox, spec, tmp_path, "--profile", profile)

    assert raw["spdxVersion"] == "SPDX-2.3"
    assert raw["creationInfo"]["created"] == "1970-01-01T00:00:00Z"  # no SOURCE_DATE_EPOCH: the epoch
    (described,) = [r for r in document.relationships if r.relationship_type.name == "DESCRIBES"]
    contained = {r.related_spdx_element_id for r in document.relationships if r.relationship_type.name == "CONTAINS"}
    packages = {p.spdx_id: p for p in document.packages}
    assert described.related_spdx_element_id in packages
    tools = {p["SPDXID"] for p in raw["packages"] if p["primaryPackagePurpose"] == "APPLICATION"}
    assert tools and contained == tools  # every tool's package is in the image
    for package in document.packages:
        for ref in package.external_references:
            assert PackageURL.from_string(ref.locator).to_string() == ref.locator


def test_spdx_gives_each_platform_download_its_package_with_url_and_checksum(sandbox, spec, tmp_path):
    document, _ = _spdx(sandbox, spec, tmp_path)

    opencode = sorted((p for p in document.packages if p.name == "opencode"), key=lambda p: p.download_location)
    assert [p.download_location for p in opencode] == [OPENCODE_URL.format("arm64"), OPENCODE_URL.format("x64")]
    assert [p.checksums[0].value for p in opencode] == [OPENCODE_SHA["arm64"], OPENCODE_SHA["amd64"]]
    assert all(p.version == "1.18.21" and p.external_references[0].locator == "pkg:github/anomalyco/opencode@v1.18.21" for p in opencode)
    assert all("verification: pinned-digest (sha256 in sandbox.yaml)" in p.comment for p in opencode)
    (omz,) = [p for p in document.packages if p.name == "oh-my-zsh"]
    assert omz.download_location == "git+https://github.com/ohmyzsh/ohmyzsh.git@830a5bcfd29fd577fdcd5f3b8e98cbaf973421fa"
    (sudo,) = [p for p in document.packages if p.name == "sudo"]
    assert sudo.version is None and sudo.checksums == []
    (ubuntu,) = [p for p in document.packages if p.name == "ubuntu"]
    assert "no digest: pulled by tag" in ubuntu.comment


def test_spdx_output_is_byte_identical(sandbox, spec, monkeypatch):
    first = sandbox(spec, "sbom", "--standard", "spdx").stdout
    assert sandbox(spec, "sbom", "--standard", "spdx").stdout == first
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    assert json.loads(sandbox(spec, "sbom", "--standard", "spdx").stdout)["creationInfo"]["created"] == "2026-01-01T00:00:00Z"


def test_sbom_imports_no_sbom_library(spec):
    """The command writes plain JSON: the libraries that check it are for the tests only."""
    import subprocess
    import sys

    probe = (
        "import sys; from generator.cli import main; code = main(sys.argv[1:]); "
        "heavy = [m for m in sys.modules if m.split('.')[0] in {'cyclonedx', 'spdx_tools', 'packageurl', 'python_on_whales'}]; "
        "print(heavy, file=sys.stderr); sys.exit(code or bool(heavy))"
    )
    for fmt in ("cyclonedx", "spdx"):
        result = subprocess.run(
            [sys.executable, "-c", probe, "--spec", str(spec), "sbom", "--standard", fmt],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stderr.strip() == "[]"

"""`sandbox verify` and `sandbox attest` on bad input: exit 2 before any registry is asked,
exit 3 when the registry does not answer; and how names and the release file are read.
(What they do with a real push: tests/docker/test_buildx.py.)"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from generator.attest.registry import Pinned, Repository
from generator.attest.verify import release_fields
from generator.commands.build import repository_of
from tests.integration.cli import sandbox_in_process

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    "image",
    ["local/x:1", "local/x", f"local/x@{DIGEST[:-1]}", f"-x@{DIGEST}", f"Local/X@{DIGEST}", f"local/x@sha512:{'0' * 128}"],
)
def test_verify_wants_an_image_pinned_by_its_digest(image: str, tmp_path: Path) -> None:
    key = tmp_path / "key.asc"
    key.write_text("not used\n")
    result = sandbox_in_process("verify", image, "--key", key, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "is not NAME@sha256:<64 hex digits>" in result.stderr or "No such option" in result.stderr


def test_verify_wants_a_key_file_that_exists(tmp_path: Path) -> None:
    result = sandbox_in_process("verify", f"local/x@{DIGEST}", "--key", tmp_path / "nope.asc", cwd=tmp_path)
    assert result.returncode == 2 and "nope.asc" in result.stderr and "does not exist" in result.stderr


def test_a_registry_that_does_not_answer_is_exit_3(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        key = tmp_path / "key.asc"
        key.write_text("not used\n")
        result = sandbox_in_process("verify", f"127.0.0.1:{port}/x@{DIGEST}", "--key", key, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith(f"error: 127.0.0.1:{port}: GET x/manifests/{DIGEST} failed")


def test_sign_by_is_a_fingerprint_and_needs_push(tmp_path: Path) -> None:
    spec = Path(__file__).resolve().parent.parent / "examples" / "minimal" / "sandbox.yaml"
    unpushed = sandbox_in_process("--spec", spec, "build", "--sign-by", "A" * 40, cwd=tmp_path)
    assert unpushed.returncode == 2 and "give --push too" in unpushed.stderr
    attest = sandbox_in_process("--spec", spec, "attest", f"local/x@{DIGEST}", "--sign-by", "my key", cwd=tmp_path)
    assert attest.returncode == 2 and "'my key' is not a key fingerprint" in attest.stderr


@pytest.mark.parametrize(
    ("name", "host", "path", "plain_http"),
    [
        ("prizz/opencode-cloud-sandbox", "registry-1.docker.io", "prizz/opencode-cloud-sandbox", False),
        ("debian", "registry-1.docker.io", "library/debian", False),
        ("ghcr.io/prizz/opencode-cloud-sandbox", "ghcr.io", "prizz/opencode-cloud-sandbox", False),
        ("127.0.0.1:5000/sandbox/x", "127.0.0.1:5000", "sandbox/x", True),
        ("localhost:5000/x", "localhost:5000", "x", True),
        ("registry.example:5000/x", "registry.example:5000", "x", False),
    ],
)
def test_where_a_repository_is(name: str, host: str, path: str, plain_http: bool) -> None:
    repository = Repository.parse(name)
    assert (repository.name, repository.host, repository.path, repository.plain_http) == (name, host, path, plain_http)


def test_a_tag_between_name_and_digest_is_ignored() -> None:
    pinned = Pinned.parse(f"127.0.0.1:5000/x:v1@{DIGEST}")
    assert (pinned.repository.name, pinned.digest, str(pinned)) == ("127.0.0.1:5000/x", DIGEST, f"127.0.0.1:5000/x@{DIGEST}")


@pytest.mark.parametrize(
    ("tag", "name"), [("a/b:1", "a/b"), ("127.0.0.1:5000/a:x", "127.0.0.1:5000/a"), ("127.0.0.1:5000/a", "127.0.0.1:5000/a")]
)
def test_the_repository_of_a_tag(tag: str, name: str) -> None:
    assert repository_of(tag) == name


def test_the_release_file_is_read_as_bash_printf_q_wrote_it() -> None:
    text = "NAME=prizz/x\nPROFILE=full\nVERSION=1.2.3\nREVISION=unknown\nCREATED=2023-11-14T22:13:20Z\nDESCRIPTION=a\\ b\\'s\n"
    assert release_fields(text) == {
        "NAME": "prizz/x",
        "PROFILE": "full",
        "VERSION": "1.2.3",
        "REVISION": "unknown",
        "CREATED": "2023-11-14T22:13:20Z",
        "DESCRIPTION": "a b's",
    }


def _sbom_with_base(digest: str | None) -> dict:
    base = {
        "type": "container",
        "name": "ubuntu",
        "version": "24.04",
        **({"hashes": [{"alg": "SHA-256", "content": digest}]} if digest else {}),
    }
    builder = {"type": "container", "name": "golang", "version": "1", "scope": "excluded"}
    return {"components": [builder, base]}


@pytest.mark.parametrize(
    ("label", "recorded", "same"),
    [
        ("ubuntu:24.04", None, True),
        ("ubuntu:24.04", "ab" * 32, True),  # the lock's digest: the label names the tag only
        (f"ubuntu:24.04@sha256:{'ab' * 32}", "ab" * 32, True),
        (f"ubuntu:24.04@sha256:{'cd' * 32}", "ab" * 32, False),
        (f"ubuntu:24.04@sha256:{'ab' * 32}", None, False),
        ("ubuntu:22.04", None, False),
        ("golang:1", None, False),
        (None, None, False),
    ],
)
def test_the_base_image_label_is_the_sboms_base(label: str | None, recorded: str | None, same: bool) -> None:
    from generator.attest.verify import _base_image, _same_base

    assert _same_base(label, _base_image(_sbom_with_base(recorded))) is same


@pytest.mark.parametrize(
    ("name", "key"),
    [("prizz/x", "https://index.docker.io/v1/"), ("ghcr.io/prizz/x", "ghcr.io"), ("127.0.0.1:5000/x", "127.0.0.1:5000")],
)
def test_the_credentials_are_what_docker_login_stored(name: str, key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64
    import json

    from generator.attest.registry import RegistryClient

    stored = base64.b64encode(b"me:secret").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {key: {"auth": stored}, "other.example": {"auth": "eDp5"}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    client = RegistryClient(Repository.parse(name))
    assert client._oras.auth._basic_auth == stored

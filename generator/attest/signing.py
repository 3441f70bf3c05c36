"""A signature over an image's manifest digest that is checked offline: containers' "simple
signing" (the format skopeo, Podman and CRI-O read; an OpenPGP-signed claim "this manifest
digest is the image NAME"), made and checked by skopeo with GnuPG keys.

Signing uses the key FINGERPRINT of the caller's GnuPG keyring ($GNUPGHOME); checking imports
the public key file given into a keyring of its own, so nothing the caller trusts otherwise
counts, and the answer needs nothing but the key, the manifest and the signature.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from generator.errors import ToolUnavailable, UsageError

#: seconds gpg or skopeo may take for one signature (no network: they only compute)
TIMEOUT = 120.0
_FINGERPRINT = re.compile(r"[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64}")


def _program(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ToolUnavailable(f"{name} is not installed; it {package}")
    return found


def skopeo() -> str:
    return _program("skopeo", "makes and checks the image signatures (apt-get install skopeo)")


def gpg() -> str:
    return _program("gpg", "holds the signing keys (apt-get install gnupg)")


def checked_fingerprint(value: str, what: str = "--sign-by") -> str:
    if not _FINGERPRINT.fullmatch(value):
        raise UsageError(f"{what}: {value!r} is not a key fingerprint (40 or 64 hex digits, as `gpg --list-keys` shows)")
    return value.upper()


def _run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False, env=env)
    except subprocess.TimeoutExpired:
        raise ToolUnavailable(f"{Path(argv[0]).name} {argv[1]} did not finish in {TIMEOUT:.0f} s") from None


def sign(manifest: bytes, identity: str, fingerprint: str) -> bytes:
    """A simple-signing signature of ``manifest`` as the image ``identity`` by the secret key
    ``fingerprint`` of the caller's keyring."""
    with tempfile.TemporaryDirectory(prefix="sandbox-sign-") as scratch:
        manifest_file, signature_file = Path(scratch) / "manifest.json", Path(scratch) / "signature"
        manifest_file.write_bytes(manifest)
        done = _run([skopeo(), "standalone-sign", str(manifest_file), identity, fingerprint, "--output", str(signature_file)])
        if done.returncode != 0 or not signature_file.is_file():
            raise ToolUnavailable(f"skopeo standalone-sign with key {fingerprint} failed: {done.stderr.strip()[-500:]}")
        return signature_file.read_bytes()


@dataclass(frozen=True)
class Verdict:
    valid: bool
    #: the key that made the signature (valid), or why none of the file's keys did
    detail: str


def key_fingerprints(key_file: Path, home: Path) -> list[str]:
    """Import ``key_file`` into the keyring at ``home``; the fingerprints of its keys and subkeys."""
    env = {**os.environ, "GNUPGHOME": str(home)}
    imported = _run([gpg(), "--batch", "--import", str(key_file)], env)
    if imported.returncode != 0:
        raise UsageError(f"--key: {key_file} is not an OpenPGP public key gpg can import: {imported.stderr.strip()[-300:]}")
    listed = _run([gpg(), "--batch", "--with-colons", "--list-keys"], env)
    return [line.split(":")[9] for line in listed.stdout.splitlines() if line.startswith("fpr:")]


def verify(manifest: bytes, identity: str, signature: bytes, key_file: Path) -> Verdict:
    """Whether ``signature`` says, by a key of ``key_file``, that ``manifest`` is the image ``identity``."""
    with tempfile.TemporaryDirectory(prefix="sandbox-verify-") as scratch:
        home = Path(scratch) / "gnupg"
        home.mkdir(mode=0o700)
        fingerprints = key_fingerprints(key_file, home)
        if not fingerprints:
            raise UsageError(f"--key: {key_file} holds no public key")
        manifest_file, signature_file = Path(scratch) / "manifest.json", Path(scratch) / "signature"
        manifest_file.write_bytes(manifest)
        signature_file.write_bytes(signature)
        env = {**os.environ, "GNUPGHOME": str(home)}
        try:
            said = []
            for fingerprint in fingerprints:
                done = _run([skopeo(), "standalone-verify", str(manifest_file), identity, fingerprint, str(signature_file)], env)
                if done.returncode == 0:
                    return Verdict(True, f"signed by {fingerprint} as {identity}")
                said.append(done.stderr.strip().rpartition("msg=")[2].strip('"') or f"exit {done.returncode}")
            return Verdict(False, "; ".join(dict.fromkeys(said)))
        finally:
            # whatever gpg started for this keyring (its agent) goes with it
            gpgconf = shutil.which("gpgconf")
            if gpgconf:
                _run([gpgconf, "--kill", "all"], env)

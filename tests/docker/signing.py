"""GnuPG keys made for a test: a keyring of its own (GNUPGHOME), a signing key without a
passphrase in it, and its public half exported to a file, as a publisher hands it out."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SigningKey:
    #: the keyring holding the secret key (GNUPGHOME for `sandbox build --sign-by`)
    home: Path
    fingerprint: str
    #: the public key, armored
    public: Path


def _gpg(home: Path, *args: str) -> str:
    done = subprocess.run(
        ["gpg", "--batch", *args], capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "GNUPGHOME": str(home)}
    )
    assert done.returncode == 0, f"gpg {' '.join(args)}: {done.stderr}"
    return done.stdout


@contextmanager
def signing_key(directory: Path, name: str) -> Iterator[SigningKey]:
    """A fresh ed25519 signing key for ``name`` in a keyring under ``directory``; its agent is
    stopped afterwards."""
    home = directory / "gnupg"
    home.mkdir(mode=0o700)
    _gpg(
        home,
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
        "--quick-generate-key",
        f"{name} <{name}@example.invalid>",
        "ed25519",
        "sign",
        "never",
    )
    listed = _gpg(home, "--with-colons", "--list-secret-keys")
    fingerprint = next(line.split(":")[9] for line in listed.splitlines() if line.startswith("fpr:"))
    public = directory / f"{name}.asc"
    public.write_text(_gpg(home, "--armor", "--export", fingerprint))
    try:
        yield SigningKey(home, fingerprint, public)
    finally:
        if shutil.which("gpgconf"):
            subprocess.run(["gpgconf", "--kill", "all"], env={**os.environ, "GNUPGHOME": str(home)}, check=False, timeout=60)

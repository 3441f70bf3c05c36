"""Debian's docker-registry (distribution 2.8) serving on 127.0.0.1 for a test session; every
engine allows plain HTTP to a loopback registry."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # loopback
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def lost_tag_race(stderr: str) -> bool:
    """Whether a push failed on distribution 2.8's own race: a HEAD of a tag that reads the tag's
    link file while a concurrent PUT of the same tag rewrites it in place (the engine PUTs each
    platform's manifest, then the index, under one tag) answers 500 ("invalid checksum digest
    format" in the registry's log). Not a fault of what is pushed; pushing again succeeds."""
    return "unexpected status from HEAD request" in stderr and "/manifests/" in stderr and "500 Internal Server Error" in stderr


@contextmanager
def running_registry(root: Path) -> Iterator[str]:
    """``host:port`` of a registry storing under ``root``; FileNotFoundError without the binary."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise FileNotFoundError("docker-registry is not installed (apt-get install docker-registry)")
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {root / 'data'}\nhttp:\n  addr: 127.0.0.1:{port}\n"
    )
    with (root / "registry.log").open("wb") as log:
        proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_http(f"http://127.0.0.1:{port}/v2/")
            yield f"127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)

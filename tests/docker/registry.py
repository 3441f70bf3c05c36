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
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextmanager
def running_registry(root: Path, *, in_memory: bool = False) -> Iterator[str]:
    """``host:port`` of a registry storing under ``root`` (or in memory); FileNotFoundError
    without the binary.

    ``in_memory`` for multi-platform pushes: the engine PUTs each platform's manifest and then
    the index under the same tag at once, and distribution 2.8's filesystem storage rewrites
    the tag's link file in place, so a HEAD in between reads half a file and answers 500
    ("invalid checksum digest format"); its in-memory storage has no such window."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise FileNotFoundError("docker-registry is not installed (apt-get install docker-registry)")
    port = free_port()
    config = root / "config.yml"
    storage = "  inmemory: {}\n" if in_memory else f"  filesystem:\n    rootdirectory: {root / 'data'}\n"
    config.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n{storage}http:\n  addr: 127.0.0.1:{port}\n")
    with (root / "registry.log").open("wb") as log:
        proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_http(f"http://127.0.0.1:{port}/v2/")
            yield f"127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)

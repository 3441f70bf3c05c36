"""Debian's docker-registry (distribution 2.8) on 127.0.0.1 for the tests: the one CI provisions
(.ci/provision-docker.sh: $SANDBOX_TEST_REGISTRY), else one the session starts; and skopeo to
read what was pushed there without the engine that pushed it. Every engine allows plain HTTP to
a loopback registry."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: ``127.0.0.1:PORT`` of a registry already serving (CI: the one .ci/provision-docker.sh starts)
REGISTRY_ENV = "SANDBOX_TEST_REGISTRY"

#: what a registry answers a manifest request with, as the engines ask for it: an index (manifest
#: list) is returned as it is, not resolved to one platform's manifest
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


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
        f"    rootdirectory: {root / 'data'}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n"
    )
    with (root / "registry.log").open("wb") as log:
        proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_http(f"http://127.0.0.1:{port}/v2/")
            yield f"127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def registry_problem(address: str) -> str | None:
    """Why ``address`` is not a registry answering on its API root, or None."""
    try:
        with urllib.request.urlopen(f"http://{address}/v2/", timeout=5) as answer:  # loopback
            version = answer.headers.get("Docker-Distribution-Api-Version")
    except (OSError, ValueError) as exc:
        return f"http://{address}/v2/ does not answer: {exc}"
    return None if version == "registry/2.0" else f"http://{address}/v2/ answers, but not as a registry (API version {version!r})"


@contextmanager
def serving_registry(root: Path) -> Iterator[str]:
    """``host:port`` of the registry the tests push to: $SANDBOX_TEST_REGISTRY when it names one
    (LookupError when it does not answer), else one of our own storing under ``root``
    (FileNotFoundError without the binary)."""
    named = os.environ.get(REGISTRY_ENV, "")
    if named:
        problem = registry_problem(named)
        if problem:
            raise LookupError(f"{REGISTRY_ENV}={named}: {problem} (see .ci/provision-docker.sh)")
        yield named
        return
    with running_registry(root) as address:
        yield address


def _skopeo(reference: str, *args: str) -> bytes:
    binary = shutil.which("skopeo")
    if binary is None:
        raise FileNotFoundError("skopeo is not installed (apt-get install skopeo)")
    argv = [binary, "inspect", "--tls-verify=false", *args, f"docker://{reference}"]
    done = subprocess.run(argv, capture_output=True, timeout=120, check=False)
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip()[-2000:]
        raise AssertionError(f"skopeo inspect {' '.join(args)} {reference} failed ({done.returncode}): {said}")
    return done.stdout


def skopeo_raw(reference: str) -> bytes:
    """The manifest (or index) ``reference`` names, byte for byte as the registry serves it
    (`skopeo inspect --raw`; plain HTTP, as to any loopback registry): its sha256 is its digest."""
    return _skopeo(reference, "--raw")


def skopeo_inspect(reference: str, *args: str) -> dict[str, Any]:
    """`skopeo inspect ARGS docker://REFERENCE` as JSON (``--config``: the image's config)."""
    return json.loads(_skopeo(reference, *args))


def delete_image(address: str, repository: str, reference: str) -> None:
    """Delete the manifest a tag or digest names, and first the manifests it lists if it is an
    index (best effort: what the tests pushed to a registry that outlives them; the blobs go at
    its next garbage collection, which .ci/provision-docker.sh runs before each start)."""

    def request(method: str, ref: str) -> tuple[bytes, str]:
        url = f"http://{address}/v2/{repository}/manifests/{ref}"
        asked = urllib.request.Request(url, method=method, headers={"Accept": MANIFEST_TYPES})
        with urllib.request.urlopen(asked, timeout=30) as answer:  # loopback
            return answer.read(), answer.headers.get("Docker-Content-Digest", ref)

    try:
        body, digest = request("GET", reference)
        for child in json.loads(body).get("manifests", []):
            if child.get("mediaType", "").endswith(("manifest.v1+json", "manifest.v2+json")):
                try:
                    request("DELETE", child["digest"])
                except urllib.error.HTTPError:
                    pass  # gone already
        request("DELETE", digest)
    except (OSError, ValueError):
        pass

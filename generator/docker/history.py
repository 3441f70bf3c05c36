"""The layers of a built image: its history entries with their sizes, and its size as the
engine reports it (what `sandbox cost` attributes)."""

from __future__ import annotations

import json

from generator.cost.attribute import Layer
from generator.docker.client import DockerClient, image_argument
from generator.docker.errors import DockerError


def image_layers(client: DockerClient, tag: str) -> list[Layer]:
    """The image's history, oldest entry first, sizes in bytes. python-on-whales has no
    `docker history` (its ``image.history()`` raises NotImplementedError), so the CLI's own
    command runs through the client, one JSON object per entry."""
    text = client.run_cli(["image", "history", "--no-trunc", "--human=false", "--format", "{{json .}}", image_argument(tag)])
    layers = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            layers.append(Layer(str(entry.get("CreatedBy") or ""), int(entry.get("Size") or 0)))
        except (ValueError, TypeError, AttributeError):
            raise DockerError(f"docker image history {tag}: an entry that is not a JSON object with a byte Size: {line[:120]!r}") from None
    return list(reversed(layers))


def unpack(client: DockerClient, tag: str, platform: str) -> None:
    """Unpack the image's layers for ``platform`` by creating (never starting) a container of it,
    then removing that. Docker 26.1's containerd image store unpacks an image buildx loads only
    for the engine's own platform, and `docker history` reads the unpacked layers (for their
    sizes): on another platform's image it fails with "snapshot ... does not exist"."""
    container = client.run_cli(["container", "create", "--pull=never", "--platform", platform, image_argument(tag)]).strip()
    client.run_cli(["container", "rm", container])


def image_size(client: DockerClient, tag: str) -> tuple[str, int, str]:
    """(image id, size in bytes, os/arch[/variant]) as `docker image inspect` reports them."""
    image = client.call(lambda whales: whales.image.inspect(image_argument(tag)))
    platform = "/".join(str(part) for part in (image.os, image.architecture, image.variant) if part)
    return str(image.id), int(image.size or 0), platform

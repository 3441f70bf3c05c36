"""Layer statistics from a `docker save` archive: layer count, bytes per layer, and bytes
wasted (file contents written in one layer and deleted or overwritten by a later one).

Wasted bytes stay in the image (every layer is shipped and stored) but are invisible in
the container's filesystem.
"""

from __future__ import annotations

import json
import posixpath
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


@dataclass
class LayerStats:
    layers: int = 0
    #: content bytes of regular files per layer, in order
    layer_bytes: list[int] = field(default_factory=list)
    wasted_bytes: int = 0
    #: wasted bytes per layer that wrote them
    wasted_by_layer: list[int] = field(default_factory=list)
    #: the biggest wasted paths: (bytes, path, written in layer, hidden by layer)
    top_wasted: list[tuple[int, str, int, int]] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(self.layer_bytes)

    def as_dict(self) -> dict:
        return {
            "layers": self.layers,
            "layer_bytes": self.layer_bytes,
            "total_bytes": self.total_bytes,
            "wasted_bytes": self.wasted_bytes,
            "wasted_by_layer": self.wasted_by_layer,
            "top_wasted": self.top_wasted,
        }


def _normal(name: str) -> str:
    return posixpath.normpath("/" + name.lstrip("./"))


def analyse_layers(layer_tars: list) -> LayerStats:
    """``layer_tars``: open tarfile objects (or lists of TarInfo), bottom layer first."""
    stats = LayerStats(layers=len(layer_tars))
    #: visible path -> (size, layer index that wrote it)
    visible: dict[str, tuple[int, int]] = {}
    wasted: list[tuple[int, str, int, int]] = []
    stats.wasted_by_layer = [0] * len(layer_tars)

    def hide(path: str, by: int, subtree: bool, keep_self: bool = False) -> None:
        prefix = path.rstrip("/") + "/"
        doomed = [p for p in visible if p.startswith(prefix)] if subtree else []
        if not keep_self and path in visible:
            doomed.append(path)
        for p in doomed:
            size, layer = visible.pop(p)
            if size:
                wasted.append((size, p, layer, by))
                stats.wasted_by_layer[layer] += size

    for index, members in enumerate(layer_tars):
        entries = list(members)
        # Whiteouts apply to the layers below, wherever they sit in this layer's tar.
        for info in entries:
            base = posixpath.basename(info.name)
            if base == OPAQUE:
                hide(_normal(posixpath.dirname(info.name)), index, subtree=True, keep_self=True)
            elif base.startswith(WHITEOUT):
                hide(_normal(posixpath.join(posixpath.dirname(info.name), base[len(WHITEOUT) :])), index, subtree=True)
        written = 0
        for info in entries:
            base = posixpath.basename(info.name)
            if base.startswith(WHITEOUT):
                continue
            path = _normal(info.name)
            if info.isdir():
                if path in visible and visible[path][0]:  # a directory replacing a file
                    hide(path, index, subtree=False)
                visible.setdefault(path, (0, index))
                continue
            if path in visible:
                hide(path, index, subtree=True)  # overwritten (and, if it was a directory, its contents)
            size = info.size if info.isfile() else 0
            visible[path] = (size, index)
            written += size
        stats.layer_bytes.append(written)
    stats.wasted_bytes = sum(w[0] for w in wasted)
    stats.top_wasted = sorted(wasted, reverse=True)[:15]
    return stats


def analyse_saved_image(archive: Path) -> LayerStats:
    """Stats for the first image in a `docker save` archive (legacy or OCI layout)."""
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))
        layers = []
        for name in manifest[0]["Layers"]:
            member = outer.extractfile(name)
            with tarfile.open(fileobj=member, mode="r|*") as inner:
                layers.append([info for info in inner])
    return analyse_layers(layers)

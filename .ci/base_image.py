#!/usr/bin/env python3
"""Make a loadable image archive from cached rootfs tarballs, byte for byte the same every time.

`docker import` stamps the image with the time of the import, so the same rootfs gets a new
image ID in every engine and on every run, and build cache exported from one engine (keyed by
the base image's digest) misses in the next. The archive made here depends on the tarballs
only: one uncompressed layer per platform, a fixed creation time, canonical JSON.

    base_image.py write|id-containerd|id-classic NAME ARCH=ROOTFS.tar [ARCH=ROOTFS.tar ...]

write streams the archive to stdout for `docker load`: OCI layout (index.json; with one
platform also docker's manifest.json, which the 20.10 engine reads); with several platforms
NAME is one multi-platform index. id-* print the image ID `docker image inspect` shows after
the load: id-containerd for an engine with the containerd image store (the index's or the
manifest's digest), id-classic for the 20.10 engine (the config digest; one platform only).
The sha256 of each tarball is kept beside it in ROOTFS.tar.sha256 (computed once).
"""

import hashlib
import io
import json
import os
import sys
import tarfile

CREATED = "2023-06-10T00:00:00Z"  # bookworm's release day: any fixed time will do
PLATFORMS = {"amd64": {"architecture": "amd64", "os": "linux"}, "arm64": {"architecture": "arm64", "os": "linux", "variant": "v8"}}
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def layer_digest(path):
    cache = path + ".sha256"
    if os.path.exists(cache) and os.path.getmtime(cache) >= os.path.getmtime(path):
        with open(cache) as f:
            return f.read().strip()
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    digest = "sha256:" + h.hexdigest()
    with open(cache + ".part", "w") as f:
        f.write(digest + "\n")
    os.replace(cache + ".part", cache)
    return digest


def blob(data, media_type, **extra):
    desc = {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(data).hexdigest(), "size": len(data)}
    desc.update(extra)
    return desc, data


def build(name, rootfs_by_arch):
    """(top-level index.json bytes, docker manifest.json bytes or None, small blobs, layers,
    containerd ID, classic ID)"""
    repo, _, tag = name.rpartition(":")
    full = name if "/" in repo and "." in repo.split("/")[0] else "docker.io/" + name
    small, layers, manifests, configs = {}, [], [], []
    for arch, path in rootfs_by_arch:
        platform = PLATFORMS[arch]
        digest = layer_digest(path)
        layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": os.path.getsize(path)}
        layers.append((layer, path))
        config = dict(
            platform,
            created=CREATED,
            config={"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
            rootfs={"type": "layers", "diff_ids": [digest]},
            history=[{"created": CREATED, "created_by": "debootstrap --variant=minbase bookworm"}],
        )
        cdesc, cdata = blob(canonical(config), "application/vnd.oci.image.config.v1+json")
        mdesc, mdata = blob(
            canonical({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cdesc, "layers": [layer]}), OCI_MANIFEST, platform=platform
        )
        small[cdesc["digest"]] = cdata
        small[mdesc["digest"]] = mdata
        manifests.append(mdesc)
        configs.append((cdesc, layer))
    names = {"io.containerd.image.name": full, "org.opencontainers.image.ref.name": tag}
    docker_manifest = None
    if len(manifests) == 1:
        top = dict(manifests[0], annotations=names)
        cdesc, layer = configs[0]
        docker_manifest = canonical(
            [{"Config": "blobs/sha256/" + cdesc["digest"][7:], "RepoTags": [name], "Layers": ["blobs/sha256/" + layer["digest"][7:]]}]
        )
    else:
        idesc, idata = blob(canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}), OCI_INDEX)
        small[idesc["digest"]] = idata
        top = dict(idesc, annotations=names)
    index = canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [top]})
    classic = configs[0][0]["digest"] if len(configs) == 1 else None
    return index, docker_manifest, small, layers, top["digest"], classic


def write(out, index, docker_manifest, small, layers):
    def member(path, size):
        info = tarfile.TarInfo(path)
        info.size, info.mtime, info.mode = size, 0, 0o644
        return info

    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        files = [("oci-layout", canonical({"imageLayoutVersion": "1.0.0"})), ("index.json", index)]
        if docker_manifest is not None:
            files.append(("manifest.json", docker_manifest))
        files += [("blobs/sha256/" + d[7:], data) for d, data in sorted(small.items())]
        for path, data in files:
            tar.addfile(member(path, len(data)), io.BytesIO(data))
        for layer, path in layers:
            with open(path, "rb") as f:
                tar.addfile(member("blobs/sha256/" + layer["digest"][7:], layer["size"]), f)


def main(argv):
    if len(argv) < 3 or argv[0] not in ("write", "id-containerd", "id-classic"):
        sys.exit(__doc__)
    mode, name, pairs = argv[0], argv[1], [a.split("=", 1) for a in argv[2:]]
    if any(len(p) != 2 or p[0] not in PLATFORMS for p in pairs):
        sys.exit(__doc__)
    index, docker_manifest, small, layers, cid, classic = build(name, pairs)
    if mode == "write":
        write(sys.stdout.buffer, index, docker_manifest, small, layers)
    elif mode == "id-containerd":
        print(cid)
    elif classic is None:
        sys.exit("base_image.py: the 20.10 engine loads one platform only")
    else:
        print(classic)


if __name__ == "__main__":
    main(sys.argv[1:])

"""Synthetic specs of N tools (nine install methods in turn: not rustup, deb) for the generation-time benchmark.

The specs are valid: every method's prerequisites (npm, uv, mise, git) are provided by the
first few tools, and digests are well-formed fakes (nothing is downloaded).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

#: methods cycled through, in this order, after the prerequisite tools
METHODS = ("release", "apt", "npm", "uv", "cargo", "go", "mise", "git", "script")


def _hex(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _tool(index: int, method: str) -> dict:
    name = f"{method}-tool-{index}"
    version = f"1.{index}.0"
    if method == "release":
        return {
            "name": name,
            "method": "release",
            "version": version,
            "url": "https://example.invalid/" + name + "/{version}/{asset}",
            "assets": {"amd64": name + "-{version}-x86_64.tar.gz", "arm64": name + "-{version}-aarch64.tar.gz"},
            "binaries": [{"path": "{stem}/" + name, "name": name}],
            "sha256": {"amd64": _hex(name + "a", 64), "arm64": _hex(name + "b", 64)},
        }
    if method == "apt":
        return {"name": name, "method": "apt", "packages": [f"pkg{index}={version}"]}
    if method == "npm":
        return {"name": name, "method": "npm", "version": version}
    if method == "uv":
        return {"name": name, "method": "uv", "version": version}
    if method == "cargo":
        return {"name": name, "method": "cargo", "version": version}
    if method == "go":
        return {"name": name, "method": "go", "package": f"example.com/{name}/cmd/{name}", "version": "v" + version}
    if method == "mise":
        return {"name": name, "method": "mise", "tool": "node", "version": version}
    if method == "git":
        return {
            "name": name,
            "method": "git",
            "url": f"https://example.invalid/{name}.git",
            "commit": _hex(name, 40),
            "dest": f"~/.local/share/{name}",
        }
    if method == "script":
        return {
            "name": name,
            "method": "script",
            "version": version,
            "url": "https://example.invalid/" + name + "/{version}/install.sh",
            "sha256": _hex(name, 64),
            "runs_upstream_code": True,
        }
    raise ValueError(method)


def _prerequisites() -> list[dict]:
    """Tools that provide what the other methods need (init, shell, npm, uv, mise)."""
    return [
        {"name": "shell", "method": "apt", "packages": ["zsh", "tini", "npm"], "unpinned_reason": "synthetic benchmark spec"},
        {
            "name": "uv",
            "method": "release",
            "version": "0.9.0",
            "url": "https://example.invalid/uv/{version}/{asset}",
            "assets": {"amd64": "uv-x86_64.tar.gz", "arm64": "uv-aarch64.tar.gz"},
            "binaries": [{"path": "{stem}/uv", "name": "uv"}],
            "sha256": {"amd64": _hex("uva", 64), "arm64": _hex("uvb", 64)},
        },
        {
            "name": "mise",
            "method": "release",
            "version": "2025.1.0",
            "url": "https://example.invalid/mise/{version}/{asset}",
            "assets": {"amd64": "mise-x64", "arm64": "mise-arm64"},
            "sha256": {"amd64": _hex("misea", 64), "arm64": _hex("miseb", 64)},
        },
    ]


def spec_data(tools: int) -> dict:
    """A spec with exactly ``tools`` tools."""
    entries = _prerequisites()
    index = 0
    while len(entries) < tools:
        entries.append(_tool(index, METHODS[index % len(METHODS)]))
        index += 1
    return {
        "image": {
            "name": "example/synthetic-sandbox",
            "labels": {"title": "t", "description": "d", "url": "u", "source": "s", "vendor": "v", "licenses": "MIT"},
        },
        "base": {
            "image": "ubuntu",
            "tag": "24.04",
            "packages": ["ca-certificates", "curl", "git"],
            "unpinned_reason": "synthetic benchmark spec",
        },
        "tools": entries[:tools],
    }


def write_spec(directory: Path, tools: int) -> Path:
    """Write the spec in block style, the way hand-maintained specs are mostly written."""
    from ruamel.yaml import YAML

    path = directory / f"synthetic-{tools}" / "sandbox.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    with path.open("w", encoding="utf-8") as stream:
        yaml.dump(spec_data(tools), stream)
    return path

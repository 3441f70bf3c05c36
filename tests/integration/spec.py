"""The integration spec: every install method CI can reach, pointed at a running :class:`Site`.

Written at test time because the server's port is only known then. ``write_spec`` returns
the path of a sandbox.yaml with its files/ directory beside it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from .servers import HELLO_VERSION, UV_VERSION, Site

USER = "opencode"
UID = 1000
HOME = f"/home/{USER}"
PORT = 8080

#: values whose quotes, backslashes and $VARs must come back byte-identical from docker inspect
TRICKY_ENV = "say \"hi\" \\ back\\slash $HOME ${PATH} $(id) `id` 'single' 100%"
TRICKY_LABEL = 'a "quoted" \\ label with $USER and ${HOME} and \\$escaped'
LABEL_KEY = "org.example.tricky"


def _base(base_image: str) -> dict[str, Any]:
    """The base both test specs share (so the hang spec's base stage comes from the cache)."""
    image, _, tag = base_image.rpartition(":")
    return {
        "image": image,
        "tag": tag,
        "packages": ["ca-certificates", "curl", "git"],
        "unpinned_reason": "the test base follows whatever the CI Debian mirror serves",
    }


def spec_data(site: Site, base_image: str, *, tag: str = "integration", tamper: str | None = None) -> dict[str, Any]:
    """The spec as data. ``tamper``: the name of a release tool whose sha256 gets one hex
    digit changed (the build must then fail naming it)."""
    hello_asset, hello_sha = site.hello
    uv_asset, uv_sha = site.uv
    digests = {"hello": hello_sha, "uv": uv_sha}
    if tamper:
        good = digests[tamper]
        digests[tamper] = ("0" if good[0] != "0" else "1") + good[1:]
    npm_name, npm_version = site.npm
    pypi_name, pypi_version = site.pypi
    return {
        "image": {
            "name": "local/sandbox-integration",
            "tag": tag,
            "labels": {
                "title": "sandbox integration test",
                "description": 'quotes " and \\ and $HOME stay as written',
                "url": "https://example.invalid/sandbox",
                "source": "https://example.invalid/sandbox.git",
                "vendor": "opencode-sandbox tests",
                "licenses": "MIT",
                "extra": {LABEL_KEY: TRICKY_LABEL},
            },
        },
        "base": _base(base_image),
        "platforms": ["linux/amd64"],
        "user": {"name": USER, "uid": UID, "gid": UID, "shell": "/usr/bin/zsh", "sudo": True},
        "env": {"TZ": "UTC", "LANG": "C.UTF-8", "TRICKY": TRICKY_ENV},
        "path": ["~/.local/bin"],
        "runtime": {
            "init": "tini",
            "command": ["python3", "-m", "http.server"],
            "bind_args": ["--bind", "{host}", "{port}"],
            "port": PORT,
            "healthcheck": {"path": "/", "interval": "2s", "timeout": "3s", "start_period": "10s", "retries": 3},
        },
        # the package managers read their registry from these: the build must not leave loopback
        "files": [
            {"src": "files/npmrc", "dest": f"{HOME}/.npmrc", "user_owned": True},
            {"src": "files/uv.toml", "dest": f"{HOME}/.config/uv/uv.toml", "user_owned": True},
        ],
        "tools": [
            {"name": "init", "method": "apt", "packages": ["tini"], "check": ["tini", "--version"],
             "unpinned_reason": "Debian bookworm's tini, as the CI mirror serves it"},
            {"name": "shell", "method": "apt", "packages": ["zsh", "sudo"], "check": ["zsh", "--version"],
             "unpinned_reason": "Debian bookworm's zsh and sudo, as the CI mirror serves them"},
            {"name": "runtimes", "method": "apt", "packages": ["python3", "npm"], "check": ["node", "--version"],
             "provides": ["python3", "npm", "node"],
             "unpinned_reason": "Debian bookworm's python3 and npm, as the CI mirror serves them"},
            {
                "name": "hello",
                "method": "release",
                "version": HELLO_VERSION,
                "url": site.releases_url + "/{asset}",
                "assets": {"amd64": hello_asset.replace(HELLO_VERSION, "{version}")},
                # a second name for the same file: installed as a hard link (as pnpm's pnpx)
                "binaries": [{"path": "{stem}/bin/hello", "name": "hello"}, {"path": "{stem}/bin/hello", "name": "hi"}],
                "sha256": {"amd64": digests["hello"]},
                "check": ["hello"],
            },
            {
                "name": "uv",
                "method": "release",
                "version": UV_VERSION,
                "url": site.releases_url + "/{asset}",
                "assets": {"amd64": uv_asset.replace(UV_VERSION, "{version}")},
                "binaries": [{"path": "{stem}/uv", "name": "uv"}],
                "sha256": {"amd64": digests["uv"]},
                "check": ["uv", "--version"],
            },
            {"name": npm_name, "method": "npm", "version": npm_version, "check": [npm_name, "1.2.3"]},
            {"name": pypi_name, "method": "uv", "version": pypi_version, "check": [pypi_name, "-t", "moo"]},
            {
                "name": "fixture",
                "method": "git",
                "url": site.git_url,
                "commit": site.git_pinned,
                "dest": "~/fixture",
                "version": "pinned",
                "check": ["grep", "-qx", "pinned-commit", f"{HOME}/fixture/README"],
            },
        ],
    }  # fmt: skip


def npmrc(site: Site) -> str:
    return f"registry={site.npm_registry}\nfund=false\naudit=false\nupdate-notifier=false\n"


def uv_toml(site: Site) -> str:
    return (
        'python-downloads = "never"\n'
        'python-preference = "only-system"\n'
        "\n[[index]]\n"
        'name = "local"\n'
        f'url = "{site.pypi_index}"\n'
        "default = true\n"
    )


def dump(data: dict[str, Any]) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


def write_spec(directory: Path, site: Site, base_image: str, **options: Any) -> Path:
    """sandbox.yaml and files/ in ``directory``; returns the spec's path."""
    directory.mkdir(parents=True, exist_ok=True)
    files = directory / "files"
    files.mkdir(exist_ok=True)
    (files / "npmrc").write_text(npmrc(site), encoding="utf-8")
    (files / "uv.toml").write_text(uv_toml(site), encoding="utf-8")
    path = directory / "sandbox.yaml"
    path.write_text(dump(spec_data(site, base_image, **options)), encoding="utf-8")
    return path


def hang_spec_data(url: str, base_image: str) -> dict[str, Any]:
    """A spec whose one release download never finishes (``url``: a HangingServer). Its base
    stage is the integration spec's, so the build cache makes it instant and the build reaches
    the hanging download quickly."""
    return {
        "image": {
            "name": "local/sandbox-hang",
            "tag": "test",
            "labels": {"title": "t", "description": "d", "url": "u", "source": "s", "vendor": "v", "licenses": "MIT"},
        },
        "base": _base(base_image),
        "platforms": ["linux/amd64"],
        "user": {"name": USER, "uid": UID, "gid": UID, "shell": "/bin/bash", "sudo": False},
        "tools": [
            {"name": "init", "method": "apt", "packages": ["tini"], "check": ["tini", "--version"],
             "unpinned_reason": "Debian bookworm's tini, as the CI mirror serves it"},
            {"name": "stuck", "method": "release", "version": "1.0.0", "url": url + "/{asset}",
             "assets": {"amd64": "stuck-{version}"}, "sha256": {"amd64": "0" * 64}},
        ],
    }  # fmt: skip


def write_hang_spec(directory: Path, url: str, base_image: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "sandbox.yaml"
    path.write_text(dump(hang_spec_data(url, base_image)), encoding="utf-8")
    return path


# -- the runtime spec: the default spec's runtime contract around the real opencode ------------

REPO = Path(__file__).resolve().parents[2]


def _test_image(name: str, title: str, description: str) -> dict[str, Any]:
    """The image section of a test spec: its name, tag `test` and the labels every spec needs."""
    labels = {"title": title, "description": description, "url": "https://example.invalid/sandbox",
              "source": "https://example.invalid/sandbox.git", "vendor": "opencode-sandbox tests", "licenses": "MIT"}  # fmt: skip
    return {"name": name, "tag": "test", "labels": labels}


def default_spec() -> dict[str, Any]:
    """The committed sandbox.yaml, as data."""
    return YAML(typ="safe", pure=True).load((REPO / "sandbox.yaml").read_text(encoding="utf-8"))


def opencode_version() -> str:
    return next(t["version"] for t in default_spec()["tools"] if t["name"] == "opencode")


def runtime_spec_data(releases_url: str, opencode: tuple[str, str], base_image: str) -> dict[str, Any]:
    """The default spec's user, environment, runtime section and runtime scripts, taken
    verbatim from sandbox.yaml, around the real opencode served as a release asset
    (``opencode``: asset name, sha256) and the few packages the runtime needs."""
    default = default_spec()
    runtime = default["runtime"]
    scripts = {runtime["entrypoint"], runtime["healthcheck"]["script"]}
    asset, sha256 = opencode
    return {
        "image": _test_image("local/sandbox-runtime", "sandbox runtime test", "the default runtime around the real opencode"),
        "base": _base(base_image),
        "platforms": ["linux/amd64"],
        "user": default["user"],
        "env": default["env"],
        "runtime": runtime,
        "files": [f for f in default["files"] if f["dest"] in scripts],
        "tools": [
            {"name": "init-shell-sudo", "method": "apt", "packages": ["tini", "zsh", "sudo"], "check": ["zsh", "--version"],
             "unpinned_reason": "Debian bookworm's packages, as the CI mirror serves them"},
            {"name": "opencode", "method": "release", "version": opencode_version(), "url": releases_url + "/{asset}",
             "assets": {"amd64": asset}, "binaries": [{"path": "opencode", "name": "opencode"}],
             "sha256": {"amd64": sha256}, "check": ["opencode", "--version"]},
        ],
    }  # fmt: skip


def write_runtime_spec(directory: Path, releases_url: str, opencode: tuple[str, str], base_image: str) -> Path:
    """sandbox.yaml plus copies of the runtime scripts it names; returns the spec's path."""
    return _write_with_files(directory, runtime_spec_data(releases_url, opencode, base_image))


def _write_with_files(directory: Path, data: dict[str, Any]) -> Path:
    for entry in data["files"]:
        target = directory / entry["src"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((REPO / entry["src"]).read_bytes())
    path = directory / "sandbox.yaml"
    path.write_text(dump(data), encoding="utf-8")
    return path


def platform_spec_data(releases_url: str, uv: dict[str, tuple[str, str]], base_image: str) -> dict[str, Any]:
    """A spec for linux/amd64 and linux/arm64: apt packages and uv's real binaries (``uv``: per
    architecture, asset name and sha256), with python3's web server as the runtime the smoke
    test checks. Small, because the arm64 half runs under emulation."""
    return {
        "image": _test_image("local/sandbox-platforms", "sandbox platforms test", "one spec, two platforms"),
        "base": _base(base_image),
        "platforms": ["linux/amd64", "linux/arm64"],
        "user": {"name": USER, "uid": UID, "gid": UID, "shell": "/bin/bash", "sudo": False},
        "env": {"LANG": "C.UTF-8"},
        "runtime": {
            "init": "tini",
            "command": ["python3", "-m", "http.server"],
            "bind_args": ["--bind", "{host}", "{port}"],
            "port": PORT,
            "healthcheck": {"path": "/", "interval": "2s", "timeout": "5s", "start_period": "20s", "retries": 5},
        },
        "tools": [
            {"name": "runtime", "method": "apt", "packages": ["tini", "python3"], "check": ["python3", "--version"],
             "provides": ["tini", "python3"], "unpinned_reason": "Debian bookworm's packages, as the CI mirror serves them"},
            {
                "name": "uv",
                "method": "release",
                "version": UV_VERSION,
                "url": releases_url + "/{asset}",
                "assets": {arch: asset.replace(UV_VERSION, "{version}") for arch, (asset, _) in uv.items()},
                "binaries": [{"path": "{stem}/uv", "name": "uv"}],
                "sha256": {arch: digest for arch, (_, digest) in uv.items()},
                "check": ["uv", "--version"],
            },
        ],
    }  # fmt: skip


# -- the agent spec: the runtime spec plus a toolchain of each kind the agent suite exercises --

#: Debian bookworm's toolchains, as the CI mirror serves them: one tool per kind of task in
#: generator/agent/suite.py (git, Python, Node, Go, Rust, shell), with the linters, formatters
#: and test runners the default profile ships where Debian has them
AGENT_TOOLCHAINS: list[dict[str, Any]] = [
    {"name": "git", "method": "apt", "packages": ["git"], "check": ["git", "--version"]},
    {"name": "python", "method": "apt", "packages": ["python3", "python3-pytest", "black"],
     "provides": ["python3", "pytest", "black"], "check": ["python3", "--version"]},
    {"name": "node", "method": "apt", "packages": ["nodejs", "npm", "node-typescript"],
     "provides": ["node", "npm", "tsc"], "check": ["node", "--version"]},
    {"name": "go", "method": "apt", "packages": ["golang-go"], "provides": ["go", "gofmt"], "check": ["go", "version"]},
    {"name": "rust", "method": "apt", "packages": ["rustc", "cargo", "rustfmt"],
     "provides": ["rustc", "cargo", "rustfmt"], "check": ["cargo", "--version"]},
    {"name": "shellcheck", "method": "apt", "packages": ["shellcheck"], "check": ["shellcheck", "--version"]},
]  # fmt: skip


#: what the agent image's user may run as root
AGENT_SUDO = ["/usr/bin/apt-get"]


def agent_spec_data(releases_url: str, opencode: tuple[str, str], base_image: str) -> dict[str, Any]:
    """The runtime spec (the default spec's user, environment, runtime and scripts around the
    real opencode) with Debian's toolchains, for `sandbox test --agent`; its user's sudo is
    narrowed to AGENT_SUDO."""
    data = runtime_spec_data(releases_url, opencode, base_image)
    data["image"] = _test_image("local/sandbox-agent", "sandbox agent test", "the default runtime, the real opencode, toolchains")
    # least privilege: sudo for the package manager only (the agent suite must pass under it)
    data["user"] = {**data["user"], "sudo": AGENT_SUDO}
    unpinned = "Debian bookworm's packages, as the CI mirror serves them"
    data["tools"] = data["tools"] + [{**tool, "unpinned_reason": unpinned} for tool in AGENT_TOOLCHAINS]
    return data


def write_agent_spec(directory: Path, releases_url: str, opencode: tuple[str, str], base_image: str) -> Path:
    """sandbox.yaml plus copies of the runtime scripts it names; returns the spec's path."""
    return _write_with_files(directory, agent_spec_data(releases_url, opencode, base_image))

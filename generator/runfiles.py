"""The run files: how the image is run, generated from the spec's runtime section like the
Dockerfile is from the rest.

With ``runtime.compose`` set, ``sandbox generate`` writes a Compose file and, in ``gate/``
beside it, the gate: a sidecar built from the spec's base image with the distribution's squid.
The sandbox sits on a network of its own (``internal``: no route out, and no name outside it
resolves); the gate sits on that network and on the outside one, and is the only way through:

- **egress**: squid's forward proxy lets the sandbox reach the hosts of ``runtime.egress``
  (HTTP, and HTTPS by CONNECT host) and nothing else; the sandbox's tools are pointed at it by
  the proxy variables;
- **keys**: for each of ``runtime.providers`` the gate listens on a port of its own and passes
  requests to the provider with the key added (a compose secret only the gate mounts); opencode
  in the sandbox is given that port as the provider's URL, and no key;
- **ingress**: the web UI is published on the host's loopback by the gate, which passes it to
  the sandbox (an internal network cannot publish ports).

Decisions are made here; the templates in templates/run/ lay the prepared data out.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from generator.lockfile import Lock
from generator.methods.context import RenderContext
from generator.spec import GATE_FIRST_PROVIDER_PORT, GATE_PROXY_PORT, SUDO_CAPABILITIES, Provider, Spec

#: the gate's files, in the directory beside the Compose file
GATE_DIR = "gate"
#: the gate's forward proxy (the sandbox's HTTP(S)_PROXY), and the first of its provider ports
EGRESS_PORT = GATE_PROXY_PORT
FIRST_PROVIDER_PORT = GATE_FIRST_PROVIDER_PORT
#: the gate's service name, as the sandbox resolves it
GATE_HOST = "gate"
#: what opencode is given as a gated provider's key: the SDKs refuse to start without one,
#: and the gate replaces the header that carries it
KEY_PLACEHOLDER = "held-by-the-gate"

#: The package registries each toolchain's commands fetch from, by the command that puts the
#: toolchain on PATH: reachable through the gate unless runtime.egress.toolchain_registries is
#: false. Hosts only; where a registry moves to a CDN of another name, that name is listed too.
TOOLCHAIN_REGISTRIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("npm", "npm's registry (npm, pnpm, npx)", ("registry.npmjs.org",)),
    ("pnpm", "npm's registry (npm, pnpm, npx)", ("registry.npmjs.org",)),
    ("pip", "PyPI (pip, uv)", ("pypi.org", "files.pythonhosted.org")),
    ("uv", "PyPI (pip, uv)", ("pypi.org", "files.pythonhosted.org")),
    ("cargo", "crates.io (cargo's sparse index and downloads)", ("index.crates.io", "static.crates.io")),
    ("go", "the Go module proxy and checksum database", ("proxy.golang.org", "sum.golang.org")),
    ("git", "GitHub (git clone over HTTPS)", ("github.com",)),
    ("opencode", "opencode's model catalogue (models.dev)", ("models.dev",)),
)


@dataclass(frozen=True)
class AllowedHost:
    #: a name, or with a leading dot a domain and its subdomains (squid's dstdomain)
    host: str
    #: why it is on the list, for the comment beside it
    why: str


def allowed_hosts(spec: Spec, profile: str) -> list[AllowedHost]:
    """The egress allowlist: the toolchains' registries (for the commands the profile puts on
    PATH) and runtime.egress.allow, each host once; a name a listed domain already covers is
    left out (squid refuses a list that holds both)."""
    egress = spec.runtime.egress
    found: dict[str, str] = {}
    if egress.toolchain_registries:
        commands = {command for tool in spec.tools_for(profile) for command in tool.commands()}
        commands.update(tool.check[0] for tool in spec.tools_for(profile) if tool.check)
        for command, why, hosts in TOOLCHAIN_REGISTRIES:
            if command in commands:
                for host in hosts:
                    found.setdefault(host, why)
    for host in egress.allow:
        found.setdefault(host, "runtime.egress.allow")
    domains = [host for host in found if host.startswith(".")]
    covered = {host for host in found for domain in domains if host != domain and (host.endswith(domain) or "." + host == domain)}
    return [AllowedHost(host, why) for host, why in found.items() if host not in covered]


@dataclass(frozen=True)
class GatedProvider:
    """A provider as the gate and opencode see it."""

    id: str
    #: squid's name for the port, its ACL and its peer
    acl: str
    #: the gate's port for this provider
    port: int
    #: where the gate sends the requests
    upstream_host: str
    upstream_port: int
    tls: bool
    header: str
    scheme: str
    #: the URL opencode is given (the gate's port, the provider's path)
    gate_url: str
    #: the compose secret holding the key, and the file the user puts it in
    secret: str
    secret_file: str
    npm: str | None
    models: tuple[str, ...]


def gated_providers(providers: list[Provider]) -> list[GatedProvider]:
    gated = []
    for index, provider in enumerate(providers):
        url = urlsplit(provider.url)
        tls = url.scheme == "https"
        port = FIRST_PROVIDER_PORT + index
        gated.append(
            GatedProvider(
                id=provider.id,
                acl=f"provider_{provider.id}",
                port=port,
                upstream_host=url.hostname or "",
                upstream_port=url.port or (443 if tls else 80),
                tls=tls,
                header=provider.header,
                scheme=provider.scheme,
                gate_url=f"http://{GATE_HOST}:{port}{url.path.rstrip('/')}",
                secret=f"{provider.id}_api_key",
                secret_file=f"./secrets/{provider.id}-api-key",
                npm=provider.npm,
                models=tuple(provider.models),
            )
        )
    return gated


def opencode_providers(providers: list[GatedProvider]) -> dict[str, Any]:
    """opencode's configuration for the gated providers (OPENCODE_CONFIG_CONTENT, merged over
    the user's own): each provider's URL is the gate's, its key a placeholder."""
    config: dict[str, Any] = {}
    for provider in providers:
        entry: dict[str, Any] = {}
        if provider.npm:
            entry["npm"] = provider.npm
            entry["models"] = {model: {} for model in provider.models}
        entry["options"] = {"baseURL": provider.gate_url, "apiKey": KEY_PLACEHOLDER}
        config[provider.id] = entry
    return {"provider": config} if config else {}


def kept_capabilities(spec: Spec) -> list[str]:
    """The capabilities a hardened sandbox keeps: runtime.hardening's, or what user.sudo needs."""
    hardening = spec.runtime.hardening
    if hardening.capabilities is not None:
        return list(hardening.capabilities)
    return list(SUDO_CAPABILITIES if spec.user.sudo else ())


def tmpfs_mounts(spec: Spec) -> list[str]:
    """runtime.hardening.tmpfs as mount options: the user's own directories owned by the user
    and private, /tmp sticky and open to all, others root's; all executable, since test runners
    run what they compile there."""
    user = spec.user
    mounts = []
    for path in spec.runtime.hardening.tmpfs:
        directory = user.in_home(path)
        if directory == "/tmp":
            mounts.append(f"{directory}:rw,exec,mode=1777")
        elif directory == user.home_dir or directory.startswith(user.home_dir.rstrip("/") + "/"):
            mounts.append(f"{directory}:rw,exec,mode=0700,uid={user.uid},gid={user.gid}")
        else:
            mounts.append(f"{directory}:rw,exec,mode=0755")
    return mounts


def proxy_environment(egress_open: bool) -> dict[str, str]:
    """The proxy variables for the agent's tools (curl, git, npm, pip/uv, cargo and go read
    the lower- or upper-case ones), the gate itself reached directly."""
    if egress_open:
        return {}
    proxy = f"http://{GATE_HOST}:{EGRESS_PORT}"
    no_proxy = f"{GATE_HOST},localhost,127.0.0.1"
    names = {"HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "NO_PROXY": no_proxy}
    return {**names, **{name.lower(): value for name, value in names.items()}}


@dataclass(frozen=True)
class Volume:
    name: str
    path: str


@dataclass(frozen=True)
class ComposeData:
    """What templates/run/compose.yaml.j2 lays out."""

    source: str
    profile: str
    project: str
    image: str
    gate_image: str
    port: int
    egress_open: bool
    environment: tuple[tuple[str, str], ...]
    volumes: tuple[Volume, ...]
    read_only: bool
    tmpfs: tuple[str, ...]
    cap_add: tuple[str, ...]
    no_new_privileges: bool
    pids_limit: int
    memory: str
    providers: tuple[GatedProvider, ...]


@dataclass(frozen=True)
class GateData:
    """What the gate's templates lay out."""

    source: str
    base: str
    #: the web UI's port: the sandbox's, and the gate's that passes it on
    port: int
    egress_port: int
    allowed: tuple[AllowedHost, ...]
    egress_open: bool
    providers: tuple[GatedProvider, ...]


#: volume names for the XDG base directories (as the hand-kept compose.yaml named them, so
#: existing volumes are found again)
XDG_VOLUME_NAMES = {".config": "config", ".local/share": "data", ".local/state": "state", ".cache": "cache"}
#: the Compose project (volume names are prefixed with it): the hand-kept compose.yaml's
PROJECT = "opencode-sandbox"


def _volume_name(path: str, home: str) -> str:
    """A named volume for a data directory: config, data, state or cache for an XDG base
    directory of the home (or a directory in one), otherwise the directory's own name."""
    relative = posixpath.relpath(path, home) if path.startswith(home.rstrip("/") + "/") else path.strip("/")
    for base, name in XDG_VOLUME_NAMES.items():
        if relative == base or relative.startswith(base + "/"):
            return name
    return re.sub(r"[^a-z0-9]+", "-", posixpath.basename(relative).lower()).strip("-") or "data"


def compose_data(spec: Spec, profile: str) -> ComposeData:
    runtime = spec.runtime
    providers = gated_providers(runtime.providers)
    environment: dict[str, str] = {
        # the entrypoint reads the password from this file; it never appears in the environment
        "OPENCODE_SERVER_PASSWORD_FILE": "/run/secrets/opencode_password",
        "SANDBOX_EGRESS": "open" if runtime.egress.open else "gate",
    }
    environment.update(proxy_environment(runtime.egress.open))
    config = opencode_providers(providers)
    if config:
        environment["OPENCODE_CONFIG_CONTENT"] = json.dumps(config, separators=(",", ":"), sort_keys=True)
    user = spec.user
    volumes = [user.workspace_dir, *spec.volume_dirs]
    named: list[Volume] = []
    for path in dict.fromkeys(volumes):
        base = name = _volume_name(path, user.home_dir)
        taken = {v.name for v in named}
        count = 1
        while name in taken:
            count += 1
            name = f"{base}-{count}"
        named.append(Volume(name, path))
    hardening = runtime.hardening
    return ComposeData(
        source=spec.source.name if spec.source else "sandbox.yaml",
        profile=profile,
        project=PROJECT,
        image=f"{spec.image.name}:{spec.image.tag}",
        gate_image=f"{spec.image.name}-gate:{spec.image.tag}",
        port=runtime.port,
        egress_open=runtime.egress.open,
        environment=tuple(environment.items()),
        volumes=tuple(named),
        read_only=hardening.read_only,
        tmpfs=tuple(tmpfs_mounts(spec)),
        cap_add=tuple(kept_capabilities(spec)),
        no_new_privileges=not user.sudo,
        pids_limit=hardening.pids_limit,
        memory=hardening.memory,
        providers=tuple(providers),
    )


def gate_data(spec: Spec, profile: str, lock: Lock) -> GateData:
    ctx = RenderContext(spec, profile, lock)
    return GateData(
        source=spec.source.name if spec.source else "sandbox.yaml",
        base=ctx.pinned_image(spec.base.reference),
        port=spec.runtime.port,
        egress_port=EGRESS_PORT,
        allowed=tuple(allowed_hosts(spec, profile)),
        egress_open=spec.runtime.egress.open,
        providers=tuple(gated_providers(spec.runtime.providers)),
    )


@dataclass(frozen=True)
class RunFile:
    #: relative to the Compose file's directory
    name: str
    text: str
    #: hadolint checks it (the gate's Dockerfile)
    dockerfile: bool = False


#: the gate's files, in GATE_DIR, with the template each is laid out by (sandbox-gate's takes
#: no data: a template all the same, so the result cache's fingerprint covers it)
GATE_FILES: tuple[tuple[str, str], ...] = (
    ("Dockerfile", "run/gate.Dockerfile.j2"),
    ("squid.conf", "run/squid.conf.j2"),
    ("providers", "run/providers.j2"),
    ("sandbox-gate", "run/sandbox-gate.j2"),
)


def run_file_names(compose: str) -> list[str]:
    """The run files' names, relative to the Compose file's directory, the Compose file first."""
    return [PurePosixPath(compose).name, *(f"{GATE_DIR}/{name}" for name, _ in GATE_FILES)]


def run_files(spec: Spec, lock: Lock) -> list[RunFile]:
    """The Compose file and the gate's files, for the spec's first profile; none without
    runtime.compose."""
    if spec.runtime.compose is None:
        return []
    from generator.render import environment

    env = environment()
    profile = spec.default_profile
    compose_name, *gate_names = run_file_names(spec.runtime.compose)
    files = [RunFile(compose_name, env.get_template("run/compose.yaml.j2").render(vars(compose_data(spec, profile))))]
    gate = vars(gate_data(spec, profile, lock))
    for name, (file, template) in zip(gate_names, GATE_FILES, strict=True):
        files.append(RunFile(name, env.get_template(template).render(gate), dockerfile=file == "Dockerfile"))
    return files

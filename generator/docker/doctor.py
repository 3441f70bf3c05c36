"""`sandbox doctor`: can an image be built with this CLI and engine, and if not, what to do.

Each check reports ok, warn, fail or skip (skip: an earlier failure makes it unanswerable).
Any fail means a build cannot work.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from generator.docker.client import CLI_HINT, DockerClient, parse_version
from generator.docker.errors import (
    BuilderMissing,
    CliMissing,
    DockerError,
    NotRunning,
    PermissionDenied,
)

Status = Literal["ok", "warn", "fail", "skip"]

GIB = 1024**3
#: below this a full build (about 6 GB of layers plus build cache) fails part-way
MIN_FREE_BYTES = 8 * GIB
#: below this a build works once but rebuilds and cache soon run out of room
WARN_FREE_BYTES = 20 * GIB
#: BuildKit (RUN --mount=type=cache) needs an engine of 18.09 or newer
MIN_ENGINE = (18, 9)

FIX_NOT_RUNNING = (
    "start the engine: Docker Desktop (open it and wait for 'Engine running'), or `sudo systemctl start docker`; "
    "if it runs elsewhere, point --docker-host / DOCKER_HOST or --context at it"
)
FIX_PERMISSION = (
    "add your user to the 'docker' group (`sudo usermod -aG docker $USER`, then log out and in), "
    "or use rootless Docker / a socket you may open via --docker-host"
)
FIX_CONNECTION = "check --docker-host / DOCKER_HOST / --context (and TLS settings) against `docker context ls`"

BUILD_PATHS = {
    "buildx": "docker buildx build --load (BuildKit via the buildx plugin)",
    "builtin": "DOCKER_BUILDKIT=1 docker build (BuildKit built into this pre-23 CLI)",
    "podman": "podman build --format docker (Buildah, Podman's own builder)",
}
#: Podman releases `sandbox build` and `sandbox test` were run with (CI: Debian 12's)
PODMAN_TESTED = (4, 3)

#: what `sandbox build` can do beyond one platform, by the engine's image store (buildx only;
#: the built-in BuildKit of old CLIs does none of it)
STORE_CAN = {
    "containerd": "--platform with several platforms, --push, --cache-to/--cache-from and --reproducible all work",
    "classic": "one platform per build, --push and --cache-from work; several platforms, --cache-to and --reproducible "
    'need the containerd image store ({"features": {"containerd-snapshotter": true}} in daemon.json; '
    "Docker Desktop: Settings > General) or a docker-container builder (--builder)",
}


@dataclass
class Check:
    name: str
    status: Status
    summary: str
    fix: str | None = None
    details: Mapping[str, object] = field(default_factory=dict)


@dataclass
class Report:
    checks: list[Check]
    build_path: str | None

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "build_path": self.build_path, "checks": [asdict(c) for c in self.checks]}

    def lines(self) -> list[str]:
        """One line per check, and one per fix (the command says the verdict after them)."""
        width = max(len(c.name) for c in self.checks)
        out = []
        for check in self.checks:
            out.append(f"{check.status:<4}  {check.name:<{width}}  {check.summary}")
            if check.fix:
                out.append(f"{'':<4}  {'':<{width}}  fix: {check.fix}")
        return out

    def markdown(self) -> list[str]:
        """The checks as a Markdown table (the command says the verdict after either)."""
        from generator.markdown import cell

        out = ["| check | status | summary | fix |", "|---|---|---|---|"]
        for check in self.checks:
            out.append(f"| {cell(check.name)} | {check.status} | {cell(check.summary)} | {cell(check.fix or '')} |")
        return out


def _gib(n: int) -> str:
    return f"{n / GIB:.1f} GiB"


def check_cli(client: DockerClient) -> Check:
    try:
        path = client.cli_path
        text = client.client_version()
    except CliMissing as exc:
        summary, _, fix = str(exc).partition("; ")
        return Check("cli", "fail", summary, fix=fix or CLI_HINT)
    except DockerError as exc:
        return Check(
            "cli", "fail", f"{client.cli_path} does not run: {exc}", fix="reinstall the docker CLI or pick another with --docker-cli"
        )
    try:
        kind = client.engine_kind
    except DockerError as exc:  # --engine podman, and the binary is not Podman
        summary, _, fix = str(exc).partition("; ")
        return Check("cli", "fail", summary, fix=fix or None)
    return Check("cli", "ok", f"{path} ({text})", details={"path": path, "version": text, "engine": kind})


def _target(client: DockerClient) -> str:
    """Where the engine is, as the user named it (or where the CLI's defaults put it)."""
    if client.host:
        return client.host
    if client.context:
        return f"context {client.context}"
    if client.is_podman:
        return (
            f"remote Podman at {os.environ['CONTAINER_HOST']}"
            if os.environ.get("CONTAINER_HOST")
            else "this machine (Podman runs no daemon)"
        )
    return os.environ.get("DOCKER_HOST") or "the CLI's default engine"


def check_engine(client: DockerClient) -> tuple[Check, dict[str, str] | None]:
    target = _target(client)
    try:
        server = client.server_version()
    except NotRunning as exc:
        return Check(
            "engine", "fail", f"{exc} ({target}: {exc.detail.splitlines()[-1] if exc.detail else 'no answer'})", fix=FIX_NOT_RUNNING
        ), None
    except PermissionDenied as exc:
        return Check("engine", "fail", f"{exc} ({target})", fix=FIX_PERMISSION, details={"detail": exc.detail}), None
    except DockerError as exc:
        return Check("engine", "fail", f"cannot reach the engine at {target}: {exc}", fix=FIX_CONNECTION), None
    name = "Podman" if client.is_podman else "Docker"
    number = server["Version"].split("+")[0]
    return Check(
        "engine", "ok", f"{name} {number}, reachable at {target}", details={"engine": name.lower(), "version": number, "target": target}
    ), server


def check_versions(client: DockerClient, server: dict[str, str]) -> Check:
    client_text = client.client_version()
    client_v = parse_version(client_text)
    engine_v = parse_version(server["Version"])
    summary = f"client {'.'.join(map(str, client_v)) if client_v else client_text}, engine {server['Version']} (API {server['ApiVersion']})"
    details = {"client": client_text, "engine": server["Version"], "api": server["ApiVersion"]}
    if engine_v is None:
        return Check("versions", "warn", summary + "; engine version not recognised", details=details)
    if client.is_podman:
        summary = f"Podman {'.'.join(map(str, engine_v))}"
        buildah = client.buildah_version()
        if buildah:
            summary += f" (Buildah {'.'.join(map(str, buildah))})"
        if engine_v[:2] < PODMAN_TESTED:
            return Check(
                "versions",
                "warn",
                summary + f"; older than {'.'.join(map(str, PODMAN_TESTED))}, the oldest Podman sandbox is tested with",
                fix="upgrade Podman, or use Docker (--engine docker)",
                details=details,
            )
        return Check("versions", "ok", summary, details=details)
    if engine_v[:2] < MIN_ENGINE:
        return Check(
            "versions",
            "fail",
            summary + "; the engine has no BuildKit",
            fix="upgrade Docker Engine to 18.09 or newer (any current release)",
            details=details,
        )
    return Check("versions", "ok", summary, details=details)


def check_builder(client: DockerClient) -> tuple[Check, str | None]:
    try:
        mode = client.buildkit_mode()
    except BuilderMissing as exc:
        text = str(exc)
        summary, _, fix = text.partition("; ")
        return Check("buildkit", "fail", summary, fix=fix or None), None
    except DockerError as exc:
        return Check("buildkit", "fail", f"cannot tell how to build: {exc}", fix="see the cli check above"), None
    detail = client.buildx_version() if mode == "buildx" else client.client_version()
    summary = f"{mode}: {detail}; builds use {BUILD_PATHS[mode]}"
    if mode == "podman":
        from generator.docker.build import BUILDAH_LOCK_FIXED, PODMAN_CANNOT

        summary += f"; {PODMAN_CANNOT.partition(': ')[2].partition('; ')[0]} with Podman"
        buildah = client.buildah_version()
        if buildah is not None and buildah < BUILDAH_LOCK_FIXED:
            summary += "; this Buildah hangs on locked cache mounts (buildah#4342), so builds use sharing=shared instead"
    store = client.image_store() if mode == "buildx" else None
    if store is not None:
        summary += f"; image store {store}: {STORE_CAN[store]}"
    platforms = client.builder_platforms() if mode == "buildx" else []
    if platforms:
        summary += f"; the builder's platforms: {', '.join(platforms)}"
    return Check("buildkit", "ok", summary, details={"mode": mode, "image_store": store, "platforms": ", ".join(platforms) or None}), mode


def _cli_name(client: DockerClient) -> str:
    return "podman" if client.is_podman else "docker"


def check_disk(client: DockerClient, *, minimum: int = MIN_FREE_BYTES, comfortable: int = WARN_FREE_BYTES) -> Check:
    root = client.data_root()
    # The data root is only measurable when the engine shares this machine's filesystem; for
    # Docker Desktop's VM or a remote host, / here is the best available hint.
    if root and Path(root).is_dir():
        where, note = root, "engine data root"
    else:
        where, note = "/", f"engine data root {root or '?'} is not on this machine; measured /"
    usage = shutil.disk_usage(where)
    cli = _cli_name(client)
    summary = f"{_gib(usage.free)} free of {_gib(usage.total)} at {where} ({note})"
    details = {"path": where, "free_bytes": usage.free, "data_root": root}
    if usage.free < minimum:
        return Check(
            "disk",
            "fail",
            summary,
            details=details,
            fix=f"free at least {_gib(minimum)}: `{cli} system prune`, `{cli} builder prune`, or move the data root",
        )
    if usage.free < comfortable:
        return Check(
            "disk",
            "warn",
            summary,
            details=details,
            fix=f"{_gib(comfortable)} or more leaves room for the build cache; `{cli} builder prune` reclaims some",
        )
    return Check("disk", "ok", summary, details=details)


def diagnose(client: DockerClient, **disk_limits: int) -> Report:
    checks: list[Check] = []
    cli = check_cli(client)
    checks.append(cli)
    if cli.status == "fail":
        for name in ("engine", "versions", "buildkit", "disk"):
            checks.append(Check(name, "skip", "needs a docker CLI"))
        return Report(checks, None)

    engine, server = check_engine(client)
    checks.append(engine)
    if server is None:
        checks.append(Check("versions", "skip", "needs a reachable engine"))
    else:
        checks.append(check_versions(client, server))

    builder, mode = check_builder(client)
    checks.append(builder)

    if server is None:
        checks.append(Check("disk", "skip", "needs a reachable engine"))
    else:
        checks.append(check_disk(client, **disk_limits))
    return Report(checks, BUILD_PATHS[mode] if mode else None)

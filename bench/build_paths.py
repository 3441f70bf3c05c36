"""Build paths of issue 9, measured side by side in one run (speed is never a test assertion).

    exports=$(bash .ci/provision-docker.sh) && eval "$exports"   # DOCKER_HOST (20.10), SANDBOX_MODERN_DOCKER_* (26.1 + buildx)
    .venv/bin/python bench/build_paths.py [--rounds 3] [--quick] [--json PATH]

Four comparisons, each A vs B alternated round by round (A B A B ...), medians:

1. engine: cold build of the integration spec (tests/integration/) with `sandbox build --no-cache`,
   buildx on the current engine (A) vs the BuildKit built into the 20.10 CLI (B);
2. shared cache: on the current engine, a clean builder (`docker builder prune --all --force`, the
   image removed) building with `--cache-from type=local,src=DIR` (B, DIR exported once by
   `--cache-to type=local,dest=DIR,mode=max`) vs the same clean builder with no cache (A); and
   (registry-cache) the same with `--cache-from type=registry,ref=REF` (B, exported once to the
   registry $SANDBOX_TEST_REGISTRY names, which .ci/provision-docker.sh starts) vs the same cold
   builds (A);
3. arm64: the small two-platform spec (tests/integration/spec.py `platform_spec_data`, uv's real
   binaries for both architectures) built `--platform linux/arm64 --no-cache` under QEMU (A) vs
   `--platform linux/amd64 --no-cache` (B), current engine;
4. go: the go builder stage the generator renders, built for linux/arm64 as rendered (compiled on
   the build platform, `GOOS`/`GOARCH`: A) vs the same stage with `--platform=$BUILDPLATFORM`
   removed from its FROM, so that it runs under QEMU (B), current engine, each with fresh cache
   mounts and `--no-cache`. The Go builder image (Debian's golang-go, both platforms) and a small
   Go module (served from a file:// GOPROXY baked into that image) are made here, offline.

5. podman: the two-platform spec's apt part alone (tini, python3) for this machine, built
   `--no-cache` with Podman (`--engine podman`: Buildah, $SANDBOX_PODMAN, on CI Debian 12's
   4.3.1; A) vs the BuildKit built into the 20.10 CLI (B); cache mounts warm on both.
A part whose engine is missing is skipped with a line saying why. Never prunes the 20.10 engine's
build cache (others use it); on the current engine it prunes the whole build cache (part 2).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV_BIN = Path(sys.executable).parent

PREFIX = "sandbox-bench-paths"
#: the base image of every build here: the test base plus a label naming the run (Engine.make_base)
BENCH_BASE = "sandbox-bench-paths-base/debian:bookworm"
#: fixed, so the stage that records the creation time is the same in the exporting build and
#: the builds that import its cache (as tests/docker/test_buildx.py does)
EPOCH = "1700000000"
BUILD_TIMEOUT = 3600
_ENGINE_KEYS = ("DOCKER_HOST", "SANDBOX_DOCKER_CLI", "DOCKER_CONFIG", "DOCKER_CONTEXT")
_SUMMARY = re.compile(r"^built (\S+) .* in ([\d.]+) s with (.+?) \((\d+) step\(s\) run, (\d+) from the cache\)", re.M)

Progress = Callable[[str], None]


class HarnessError(Exception):
    """The benchmark itself could not run (as opposed to a slow result)."""


# --- engines --------------------------------------------------------------------------------


@dataclass
class Engine:
    """One Docker engine as the `sandbox` CLI and the docker CLI are pointed at it."""

    key: str
    #: DOCKER_HOST, SANDBOX_DOCKER_CLI, DOCKER_CONFIG (empty values: not set)
    settings: dict[str, str]
    version: str = ""

    @property
    def cli(self) -> str:
        return self.settings["SANDBOX_DOCKER_CLI"]

    def environ(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _ENGINE_KEYS}
        env.update({k: v for k, v in self.settings.items() if v})
        env["DOCKER_BUILDKIT"] = "1"
        env.update(extra or {})
        return env

    def docker(self, *args: str, check: bool = True, timeout: float = BUILD_TIMEOUT) -> subprocess.CompletedProcess:
        result = subprocess.run([self.cli, *args], env=self.environ(), capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise HarnessError(f"{self.key}: docker {' '.join(args[:3])} failed ({result.returncode}): {result.stderr[-2000:]}")
        return result

    def problem(self, buildx: bool) -> str | None:
        """None when the engine answers (and, with ``buildx``, its CLI has buildx), else why not."""
        if not self.settings["DOCKER_HOST"] and self.key == "modern":
            return "SANDBOX_MODERN_DOCKER_HOST / _CLI / _CONFIG name no current engine (run .ci/provision-docker.sh and eval its exports)"
        if not shutil.which(self.cli):
            return f"no docker CLI at {self.cli}"
        try:
            result = self.docker("version", "--format", "{{.Server.Version}}", check=False, timeout=30)
            if result.returncode != 0:
                return (result.stderr.strip() or "docker version failed").splitlines()[-1]
            self.version = result.stdout.strip()
            if buildx and self.docker("buildx", "version", check=False, timeout=30).returncode != 0:
                return f"the CLI {self.cli} has no buildx plugin (DOCKER_CONFIG={self.settings['DOCKER_CONFIG'] or 'unset'})"
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
        return None

    def remove_images(self, *tags: str) -> None:
        self.docker("image", "rm", "--force", *tags, check=False)

    def prune(self) -> None:
        if self.key != "modern":  # never: other people's tests use the 20.10 engine's cache
            raise HarnessError("refusing to prune the build cache of the 20.10 engine")
        self.docker("builder", "prune", "--all", "--force")

    def has_platform(self, image: str, platform: str) -> bool:
        """Whether the image store holds ``image`` for ``platform`` (26.1's `image inspect` has no
        --platform: a container is created from it, never started)."""
        created = self.docker("create", "--pull", "never", "--platform", platform, image, "true", check=False, timeout=60)
        if created.returncode != 0:
            return False
        self.docker("rm", "--force", created.stdout.strip(), check=False)
        return True

    def make_base(self, source: str, run_id: str, work: Path) -> None:
        """BENCH_BASE: ``source`` with one label naming this run, i.e. an image of its own.
        BuildKit keys a FROM by the image's digest, not its name: on a shared engine, a plain
        re-tag would share every cache record (and in-flight vertex) with anyone else's build of
        the same spec, and a pruned builder could get them back from a concurrent build."""
        if self.docker("image", "inspect", source, check=False).returncode != 0:
            raise HarnessError(f"{self.key}: base image {source} is not in the engine (set SANDBOX_TEST_BASE_IMAGE)")
        context = work / f"base-{self.key}"
        context.mkdir(parents=True, exist_ok=True)
        # `RUN true` (an empty layer, left out of the image): on the 26.1 engine a build of FROM and
        # LABEL alone failed with "failed to solve: not found" (a stale record in BuildKit's cache
        # database after prunes, seen for linux/amd64 only); a build with a RUN step did not
        (context / "Dockerfile").write_text(f"FROM {source}\nLABEL org.opencode-sandbox.bench-run={run_id}\nRUN true\n", encoding="utf-8")
        args: list[str] = []
        if self.key == "modern":
            platforms = [p for p in ("linux/amd64", "linux/arm64") if self.has_platform(source, p)]
            args = ["--platform", ",".join(platforms)]
        docker_build(self, context, context / "Dockerfile", BENCH_BASE, *args, label=f"base-{self.key}", logs=work)


def source_image() -> str:
    return os.environ.get("SANDBOX_TEST_BASE_IMAGE", "local/debian:bookworm")


def engines() -> dict[str, Engine]:
    env = os.environ
    legacy = {
        "DOCKER_HOST": env.get("DOCKER_HOST", ""),
        "SANDBOX_DOCKER_CLI": env.get("SANDBOX_DOCKER_CLI") or shutil.which("docker") or "docker",
        "DOCKER_CONFIG": env.get("DOCKER_CONFIG", ""),
    }
    modern = {
        "DOCKER_HOST": env.get("SANDBOX_MODERN_DOCKER_HOST", ""),
        "SANDBOX_DOCKER_CLI": env.get("SANDBOX_MODERN_DOCKER_CLI") or shutil.which("docker") or "docker",
        "DOCKER_CONFIG": env.get("SANDBOX_MODERN_DOCKER_CONFIG", ""),
    }
    return {"legacy": Engine("legacy", legacy), "modern": Engine("modern", modern)}


# --- one timed build --------------------------------------------------------------------------


@dataclass
class Build:
    label: str
    seconds: float
    #: the build's own time and path, from `sandbox build`'s last line (None for direct builds)
    reported_s: float | None = None
    path: str | None = None
    ran: int | None = None
    cached: int | None = None
    #: `sandbox build`: seconds from the last step's start to the end (for a build whose steps all
    #: ran, mostly exporting the image: compressing layers and unpacking them into the store)
    tail_s: float | None = None
    #: seconds of the one step that matters (direct builds: the RUN whose text has ``step``)
    step_s: float | None = None
    log: str = ""

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def sandbox_build(engine: Engine, spec: Path, tag: str, *args: str, label: str, logs: Path) -> Build:
    """`sandbox --spec SPEC build`, timed from outside (what a user waits for)."""
    command = [
        str(VENV_BIN / "sandbox"),
        "--spec",
        str(spec),
        "build",
        "--network",
        "host",
        "--tag",
        tag,
        "--timeout",
        str(BUILD_TIMEOUT),
        *args,
    ]
    start = time.perf_counter()
    result = subprocess.run(
        command, env=engine.environ({"SOURCE_DATE_EPOCH": EPOCH}), capture_output=True, text=True, timeout=BUILD_TIMEOUT + 60, check=False
    )
    seconds = time.perf_counter() - start
    log = logs / f"{label}-{time.strftime('%H%M%S')}.log"
    log.write_text(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}", encoding="utf-8")
    if result.returncode != 0:
        raise HarnessError(f"{label}: sandbox build failed ({result.returncode}); log: {log}\n{(result.stdout + result.stderr)[-3000:]}")
    found = _SUMMARY.search(result.stdout)
    build = Build(label, seconds, log=str(log))
    if found:
        build.reported_s, build.path = float(found[2]), found[3]
        build.ran, build.cached = int(found[4]), int(found[5])
        starts = re.findall(r"^\[\s*([\d.]+)s\] step ", result.stdout, re.M)
        if starts:
            build.tail_s = build.reported_s - float(starts[-1])
    return build


def step_seconds(log: str, marker: str) -> float | None:
    """The DONE time BuildKit's plain progress gives the step whose header contains ``marker``."""
    step = None
    for line in log.splitlines():
        header = re.match(r"#(\d+) \[", line)
        if header and marker in line:
            step = header[1]
        done = re.match(r"#(\d+) DONE ([\d.]+)s$", line)
        if done and done[1] == step:
            return float(done[2])
    return None


def docker_build(
    engine: Engine, context: Path, dockerfile: Path, tag: str, *args: str, label: str, logs: Path, step: str | None = None
) -> Build:
    """`docker buildx build --load` (or the built-in path), timed from outside."""
    builder = ["buildx", "build", "--load"] if engine.key == "modern" else ["build"]
    command = [*builder, "--progress", "plain", "-f", str(dockerfile), "--tag", tag, *args, str(context)]
    start = time.perf_counter()
    result = engine.docker(*command, check=False)
    seconds = time.perf_counter() - start
    log = logs / f"{label}-{time.strftime('%H%M%S')}.log"
    log.write_text(f"$ docker {' '.join(command)}\n{result.stdout}{result.stderr}", encoding="utf-8")
    if result.returncode != 0:
        raise HarnessError(f"{label}: docker build failed ({result.returncode}); log: {log}\n{result.stderr[-3000:]}")
    return Build(label, seconds, step_s=step_seconds(result.stderr, step) if step else None, log=str(log))


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


@dataclass
class Comparison:
    """A vs B, alternated; the samples of each and what the issue asks of B/A (or A/B)."""

    key: str
    what: str
    a: str
    b: str
    target: str = "—"
    #: the ratio reported: "b/a" or "a/b"
    ratio: str = "b/a"
    #: ratio <= this is "met" (None: no target)
    at_most: float | None = None
    samples: dict[str, list[Build]] = field(default_factory=lambda: {"a": [], "b": []})
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)

    def median(self, side: str) -> float:
        return statistics.median(b.seconds for b in self.samples[side])

    def value(self) -> float | None:
        if self.skipped or not self.samples["a"] or not self.samples["b"]:
            return None
        a, b = self.median("a"), self.median("b")
        return b / a if self.ratio == "b/a" else a / b

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "what": self.what,
            "a": self.a,
            "b": self.b,
            "target": self.target,
            "ratio": self.ratio,
            "at_most": self.at_most,
            "skipped": self.skipped,
            "notes": self.notes,
            "loads": self.loads,
            "ratio_value": self.value(),
            "samples": {side: [b.as_dict() for b in builds] for side, builds in self.samples.items()},
            "median_s": {side: self.median(side) for side in ("a", "b") if self.samples[side]},
        }


# --- parts 1 and 2: the integration spec on both engines, and the shared cache ----------------


@contextlib.contextmanager
def integration_project(work: Path) -> Iterator[Path]:
    sys.path.insert(0, str(REPO))
    from tests.integration import servers, spec as integration

    site = servers.start_site(work / "site")
    try:
        path = integration.write_spec(work / "integration", site, BENCH_BASE)
        _generate(path)
        yield path
    finally:
        site.stop()


def _generate(spec: Path) -> None:
    result = subprocess.run([str(VENV_BIN / "sandbox"), "--spec", str(spec), "generate"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise HarnessError(f"sandbox generate failed for {spec}:\n{result.stdout}{result.stderr}")


def engines_and_cache(
    modern: Engine, legacy: Engine, rounds: int, work: Path, logs: Path, progress: Progress, engine_part: bool = True
) -> tuple[Comparison, Comparison, Comparison, dict]:
    engine_cmp = Comparison(
        "engine",
        "cold build of the integration spec (`sandbox build --no-cache`)",
        f"buildx, Docker {modern.version or '26.1'}",
        f"built-in BuildKit, Docker {legacy.version or '20.10'}",
        target="— (same spec, same machine)",
        ratio="a/b",
    )
    cache_cmp = Comparison(
        "cache",
        "clean builder (build cache pruned, image removed): warm shared cache vs none",
        "cold: nothing cached",
        "`--cache-from type=local,src=DIR`",
        target="≤ 0.2×",
        ratio="b/a",
        at_most=0.2,
    )
    registry = os.environ.get("SANDBOX_TEST_REGISTRY", "")
    cache_ref = f"{registry}/{PREFIX}/integration:cache-{uuid.uuid4().hex[:12]}"
    registry_cmp = Comparison(
        "registry-cache",
        "clean builder (build cache pruned, image removed): the cache in a registry vs none",
        "cold: nothing cached (the same builds as above)",
        "`--cache-from type=registry,ref=REF` (Debian's docker-registry on 127.0.0.1)",
        target="≤ 0.2×",
        ratio="b/a",
        at_most=0.2,
    )
    # the cold builds are the shared cache's: one list, so each round's A is measured once
    registry_cmp.samples["a"] = cache_cmp.samples["a"]
    registry_cmp.loads = cache_cmp.loads
    extra: dict = {}
    problems = {e.key: e.problem(buildx=e.key == "modern") for e in (modern, legacy)}
    if problems["modern"]:
        engine_cmp.skipped = cache_cmp.skipped = registry_cmp.skipped = f"no current engine with buildx: {problems['modern']}"
        return engine_cmp, cache_cmp, registry_cmp, extra
    if problems["legacy"]:
        engine_cmp.skipped = f"no 20.10 engine: {problems['legacy']}"
    if not engine_part:
        engine_cmp.skipped = "not asked for (--only without engine)"
    if not registry:
        registry_cmp.skipped = "SANDBOX_TEST_REGISTRY names no registry (run .ci/provision-docker.sh and eval its exports)"
    tag = f"{PREFIX}-integration:bench"
    cache = work / "cache"
    with integration_project(work) as spec:
        # the shared cache: exported once by a build from nothing (timed, for the record)
        progress("build paths: exporting the integration spec's build cache (current engine, from nothing) ...")
        modern.remove_images(tag)
        modern.prune()
        export = sandbox_build(modern, spec, tag, "--cache-to", f"type=local,dest={cache},mode=max", label="cache-export", logs=logs)
        extra["export"] = export.as_dict()
        progress(f"  {export.seconds:.1f} s")
        sides = [("b", cache_cmp, ("--cache-from", f"type=local,src={cache}"), "warm shared cache")]
        if not registry_cmp.skipped:
            # the same records to the registry: every step is cached by now, this only exports
            progress(f"build paths: exporting the same build cache to {cache_ref} ...")
            pushed = sandbox_build(
                modern, spec, tag, "--cache-to", f"type=registry,ref={cache_ref},mode=max", label="registry-cache-export", logs=logs
            )
            extra["registry_export"] = pushed.as_dict()
            progress(f"  {pushed.seconds:.1f} s")
            sides.append(("b", registry_cmp, ("--cache-from", f"type=registry,ref={cache_ref}"), "the cache in the registry"))
        # B first, then A: its prune leaves the cache mounts empty, the cold build fills them
        sides.append(("a", cache_cmp, (), "cold"))
        for round_no in range(1, rounds + 1):
            cache_cmp.loads.append(load_average())
            for side, comparison, args, what in sides:
                modern.remove_images(tag)
                modern.prune()
                progress(f"build paths, round {round_no}/{rounds}: clean builder, {what} ...")
                build = sandbox_build(modern, spec, tag, *args, label=f"{comparison.key}-{side}-r{round_no}", logs=logs)
                comparison.samples[side].append(build)
                progress(f"  {build.seconds:.1f} s ({build.ran} step(s) run, {build.cached} from the cache)")
            if engine_cmp.skipped:
                continue
            engine_cmp.loads.append(load_average())
            for side, engine in (("a", modern), ("b", legacy)):
                progress(f"build paths, round {round_no}/{rounds}: --no-cache on {engine.key} ({engine.version}) ...")
                build = sandbox_build(engine, spec, tag, "--no-cache", label=f"engine-{engine.key}-r{round_no}", logs=logs)
                engine_cmp.samples[side].append(build)
                progress(f"  {build.seconds:.1f} s with {build.path} ({_fmt(build.tail_s)} after the last step started)")
        cache_cmp.loads.append(load_average())
        engine_cmp.loads.append(load_average())
    modern.remove_images(tag)
    if "registry_export" in extra:
        from tests.docker.registry import delete_image

        delete_image(registry, f"{PREFIX}/integration", cache_ref.rpartition(":")[2])
    if not engine_cmp.skipped:
        legacy.remove_images(tag)
        tails = [
            f"{a.tail_s:.1f}/{b.tail_s:.1f}"
            for a, b in zip(engine_cmp.samples["a"], engine_cmp.samples["b"], strict=False)
            if a.tail_s is not None and b.tail_s is not None
        ]
        engine_cmp.notes.append(
            f"from the last step's start to the end of the build (exporting the image), A/B per round: {', '.join(tails)} s"
        )
    engine_cmp.notes.append(
        "`--no-cache` on both: every step runs; cache mounts (apt's lists and .debs) stay as they are, "
        "warm on both engines (the 20.10 engine's build cache is shared and is never pruned here, and "
        "there other builds can hold apt's `sharing=locked` cache mounts while ours waits)"
    )
    cache_cmp.notes.append(
        f"cache exported once (`--cache-to type=local,dest=DIR,mode=max`) by a build from nothing: {export.seconds:.1f} s"
    )
    if "registry_export" in extra:
        registry_cmp.notes.append(
            f"the same records exported to the registry (`--cache-to type=registry,ref=REF,mode=max`) by a build "
            f"with every step cached: {extra['registry_export']['seconds']:.1f} s; A is the cold builds of the row above"
        )
    return engine_cmp, cache_cmp, registry_cmp, extra


# --- part 3: arm64 under QEMU vs amd64 -------------------------------------------------------------


def arm64_vs_amd64(modern: Engine, rounds: int, work: Path, logs: Path, progress: Progress) -> Comparison:
    cmp = Comparison(
        "arm64",
        "the two-platform spec (apt tini + python3, uv's real binaries), `--no-cache`",
        "`--platform linux/arm64` (QEMU)",
        "`--platform linux/amd64` (native)",
        target="—",
        ratio="a/b",
    )
    problem = modern.problem(buildx=True)
    if problem:
        cmp.skipped = f"no current engine with buildx: {problem}"
        return cmp
    sys.path.insert(0, str(REPO))
    from tests.integration.servers import UV_MACHINES, FileServer, make_uv_release
    from tests.integration.spec import dump, platform_spec_data

    if not modern.has_platform(BENCH_BASE, "linux/arm64"):
        cmp.skipped = f"the base image {BENCH_BASE} has no linux/arm64 variant in the current engine"
        return cmp
    www = work / "platform-site"
    uv = {arch: make_uv_release(www / "releases", arch=arch) for arch in UV_MACHINES}
    server = FileServer(www)
    try:
        directory = work / "platforms"
        directory.mkdir()
        spec = directory / "sandbox.yaml"
        spec.write_text(dump(platform_spec_data(f"{server.url}/releases", uv, BENCH_BASE)), encoding="utf-8")
        _generate(spec)
        for round_no in range(1, rounds + 1):
            cmp.loads.append(load_average())
            for side, arch in (("a", "arm64"), ("b", "amd64")):
                tag = f"{PREFIX}-platforms:{arch}"
                modern.remove_images(tag)
                progress(f"build paths, round {round_no}/{rounds}: platform spec for linux/{arch} ...")
                build = sandbox_build(
                    modern, spec, tag, "--platform", f"linux/{arch}", "--no-cache", label=f"platform-{arch}-r{round_no}", logs=logs
                )
                cmp.samples[side].append(build)
                progress(f"  {build.seconds:.1f} s")
                modern.remove_images(tag)
        cmp.loads.append(load_average())
    finally:
        server.stop()
    cmp.notes.append("cache mounts (apt) as they are: the first arm64 build of a run also downloads the arm64 .debs")
    return cmp


# --- part 5: Podman (Buildah) vs the 20.10 CLI's built-in BuildKit ----------------------------------


def podman_engine() -> tuple[Engine | None, str | None]:
    """Podman as an Engine ($SANDBOX_PODMAN, else podman on PATH; `sandbox` knows it by what
    its --version says), or why there is none."""
    cli = shutil.which(os.environ.get("SANDBOX_PODMAN") or "podman")
    if not cli:
        return None, "no Podman ($SANDBOX_PODMAN, or podman on PATH; .ci/provision-podman.sh)"
    engine = Engine("podman", {"DOCKER_HOST": "", "SANDBOX_DOCKER_CLI": cli, "DOCKER_CONFIG": ""})
    answer = engine.docker("version", "--format", "{{.Client.Version}}", check=False, timeout=60)
    if answer.returncode != 0:
        return None, (answer.stderr.strip() or "podman version failed").splitlines()[-1]
    engine.version = answer.stdout.strip()
    if engine.docker("image", "exists", source_image(), check=False, timeout=60).returncode != 0:
        return None, f"{source_image()} is not in Podman's storage"
    return engine, None


def podman_vs_builtin(legacy: Engine, rounds: int, work: Path, logs: Path, progress: Progress) -> Comparison:
    cmp = Comparison(
        "podman",
        "the two-platform spec's apt part (tini, python3), this machine's platform, `--no-cache`",
        "Podman (`--engine podman`, Buildah)",
        "20.10 built-in BuildKit",
        target="—",
        ratio="a/b",
    )
    podman, why = podman_engine()
    problem = why or legacy.problem(buildx=False)
    if podman is None or problem:
        cmp.skipped = problem or why
        return cmp
    sys.path.insert(0, str(REPO))
    from tests.integration.spec import dump, platform_spec_data

    specs = {}
    for side, base in (("a", source_image()), ("b", BENCH_BASE)):
        data = platform_spec_data("http://127.0.0.1:1/releases", {}, base)
        data["platforms"] = ["linux/amd64"]
        data["tools"] = [tool for tool in data["tools"] if tool["method"] == "apt"]
        directory = work / f"podman-{side}"
        directory.mkdir()
        specs[side] = directory / "sandbox.yaml"
        specs[side].write_text(dump(data), encoding="utf-8")
        _generate(specs[side])
    for round_no in range(1, rounds + 1):
        cmp.loads.append(load_average())
        for side, engine in (("a", podman), ("b", legacy)):
            tag = f"{PREFIX}-podman:{side}"
            engine.remove_images(tag)
            progress(f"build paths, round {round_no}/{rounds}: apt spec with {engine.key} ...")
            build = sandbox_build(engine, specs[side], tag, "--no-cache", label=f"podman-{engine.key}-r{round_no}", logs=logs)
            cmp.samples[side].append(build)
            progress(f"  {build.seconds:.1f} s")
            engine.remove_images(tag)
    cmp.loads.append(load_average())
    cmp.notes.append(
        f"Podman {podman.version}; each a build of the spec's three stages from its base image, apt's downloads "
        "in the cache mounts (warm after the first build of either); Podman's Buildah 1.28 builds with "
        "sharing=shared cache mounts (docs/building.md, Podman)"
    )
    return cmp


# --- part 4: a go builder stage for arm64, cross-compiled vs emulated --------------------------------

GO_MODULE = "example.test/benchsrv"
GO_VERSION_TAG = "v1.0.0"
#: a small HTTP + JSON command: big enough that compiling (net/http, crypto/tls, encoding/json
#: from the standard library) dominates, as for a real tool
GO_MAIN = """package main

import (
\t"encoding/json"
\t"flag"
\t"fmt"
\t"log"
\t"net/http"
\t"os"
\t"runtime"
)

type status struct {
\tOS   string `json:"os"`
\tArch string `json:"arch"`
\tHost string `json:"host"`
}

func main() {
\taddr := flag.String("listen", "", "address to serve the status on (empty: print it)")
\tflag.Parse()
\thost, _ := os.Hostname()
\ts := status{runtime.GOOS, runtime.GOARCH, host}
\tif *addr == "" {
\t\tout, _ := json.Marshal(s)
\t\tfmt.Println(string(out))
\t\treturn
\t}
\thttp.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _ = json.NewEncoder(w).Encode(s) })
\tlog.Fatal(http.ListenAndServe(*addr, nil))
}
"""


def write_goproxy(root: Path) -> None:
    """The bench's module (GO_MAIN as cmd/benchsrv) in a GOPROXY tree."""
    sys.path.insert(0, str(REPO))
    from tests.integration.servers import publish_go_module

    publish_go_module(root, GO_MODULE, GO_VERSION_TAG, {"go.mod": f"module {GO_MODULE}\n\ngo 1.19\n", "cmd/benchsrv/main.go": GO_MAIN})


def go_builder_image(modern: Engine, work: Path, logs: Path, progress: Progress) -> str:
    """A two-platform Go builder image (Debian bookworm's golang-go, amd64 + arm64) with the
    module in a file:// GOPROXY; named after its inputs and kept between runs (the arm64 half
    installs golang-go under QEMU, which takes minutes)."""
    context = work / "go-builder"
    write_goproxy(context / "goproxy")
    source = source_image()
    dockerfile = (
        f"FROM {source}\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends golang-go && rm -rf /var/lib/apt/lists/*\n"
        "COPY goproxy /srv/goproxy\n"
        f"ENV GOPROXY=file:///srv/goproxy GONOSUMDB={GO_MODULE}\n"
    )
    (context / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    digest = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(context)).encode() + b"\0" + path.read_bytes())
    base_id = modern.docker("image", "inspect", "--format", "{{.Id}}", source).stdout.strip()
    digest.update(base_id.encode())
    tag = f"{PREFIX}-golang:{digest.hexdigest()[:16]}"
    if modern.has_platform(tag, "linux/arm64") and modern.has_platform(tag, "linux/amd64"):
        return tag
    progress(f"build paths: making the Go builder image {tag} for linux/amd64 and linux/arm64 (once; minutes under QEMU) ...")
    docker_build(
        modern,
        context,
        context / "Dockerfile",
        tag,
        "--platform",
        "linux/amd64,linux/arm64",
        "--network",
        "host",
        label="go-builder-image",
        logs=logs,
    )
    return tag


def _go_stage(dockerfile: str) -> tuple[str, str]:
    """(stage name, its text) of the first go builder stage in a rendered Dockerfile."""
    match = re.search(r"^FROM (?:--platform=\S+ )?\S+ AS (go-[\w.-]+)\n(?:(?!FROM ).*\n?)*", dockerfile, re.M)
    if not match:
        raise HarnessError("the rendered Dockerfile has no go builder stage")
    return match[1], match[0]


def _fresh_cache_mounts(stage: str, run_id: str) -> str:
    """Each cache mount of the stage under an id of its own: a cold compile and module cache for
    this build only (a plain `--no-cache` keeps cache mounts)."""
    return re.sub(
        r"--mount=type=cache,target=(\S+?)(?=[,\s])", lambda m: f"--mount=type=cache,id={PREFIX}-{run_id}{m[1]},target={m[1]}", stage
    )


def go_cross_vs_emulated(modern: Engine, rounds: int, work: Path, logs: Path, progress: Progress) -> Comparison:
    cmp = Comparison(
        "go",
        "a go builder stage for linux/arm64 (`go install` of a small net/http + JSON command), `--no-cache`, fresh cache mounts",
        "cross-compiled: `FROM --platform=$BUILDPLATFORM`, `GOOS`/`GOARCH` (as rendered)",
        "emulated: the same stage without `--platform=$BUILDPLATFORM` (QEMU)",
        target="—",
        ratio="b/a",
    )
    problem = modern.problem(buildx=True)
    if problem:
        cmp.skipped = f"no current engine with buildx: {problem}"
        return cmp
    sys.path.insert(0, str(REPO))
    from tests.integration.spec import UID, USER, _base, dump

    builder = go_builder_image(modern, work, logs, progress)
    directory = work / "go-spec"
    directory.mkdir()
    spec = {
        "image": {"name": "local/sandbox-bench-go", "tag": "bench",
                  "labels": {"title": "t", "description": "d", "url": "u", "source": "s", "vendor": "v", "licenses": "MIT"}},
        "base": _base(BENCH_BASE),
        "platforms": ["linux/amd64", "linux/arm64"],
        "builders": {"go": builder},
        "user": {"name": USER, "uid": UID, "gid": UID, "shell": "/bin/bash", "sudo": False},
        "tools": [{"name": "init", "method": "apt", "packages": ["tini"], "check": ["tini", "--version"],
                   "unpinned_reason": "Debian bookworm's tini, as the mirror serves it"},
                  {"name": "benchsrv", "method": "go", "package": f"{GO_MODULE}/cmd/benchsrv", "version": GO_VERSION_TAG,
                   "check": ["benchsrv"]}],
    }  # fmt: skip
    (directory / "sandbox.yaml").write_text(dump(spec), encoding="utf-8")
    _generate(directory / "sandbox.yaml")
    name, stage = _go_stage((directory / "Dockerfile").read_text(encoding="utf-8"))
    if "--platform=$BUILDPLATFORM" not in stage.splitlines()[0]:
        cmp.skipped = (
            "this generator renders go stages without `FROM --platform=$BUILDPLATFORM` "
            "(branch cross-compile not merged): nothing cross-compiles to compare"
        )
        return cmp
    variants = {"a": stage, "b": stage.replace("FROM --platform=$BUILDPLATFORM ", "FROM ", 1)}
    context = work / "go-context"
    context.mkdir()
    for round_no in range(1, rounds + 1):
        cmp.loads.append(load_average())
        for side, text in variants.items():
            dockerfile = context / f"{side}-r{round_no}.Dockerfile"
            dockerfile.write_text(_fresh_cache_mounts(text, uuid.uuid4().hex[:12]), encoding="utf-8")
            tag = f"{PREFIX}-go:{side}"
            modern.remove_images(tag)
            progress(
                f"build paths, round {round_no}/{rounds}: go stage for linux/arm64, {'cross-compiled' if side == 'a' else 'emulated'} ..."
            )
            build = docker_build(
                modern,
                context,
                dockerfile,
                tag,
                "--target",
                name,
                "--platform",
                "linux/arm64",
                "--network",
                "none",
                "--no-cache",
                label=f"go-{side}-r{round_no}",
                logs=logs,
                step="go install",
            )
            cmp.samples[side].append(build)
            machine = _elf_machine_in(modern, tag)
            if machine != "aarch64":
                raise HarnessError(f"go stage ({side}) built a {machine} binary, not aarch64; log: {build.log}")
            progress(f"  {build.seconds:.1f} s (the go install step: {_fmt(build.step_s)})")
            modern.remove_images(tag)
    cmp.loads.append(load_average())
    steps = [f"{_fmt(a.step_s)}/{_fmt(b.step_s)}" for a, b in zip(cmp.samples["a"], cmp.samples["b"], strict=False)]
    cmp.notes.append(f"the `go install` step alone, A/B per round: {', '.join(steps)}")
    std = modern.docker(
        "run",
        "--rm",
        "--platform",
        "linux/arm64",
        "--network",
        "none",
        builder,
        "sh",
        "-c",
        "go version; ls -d $(go env GOROOT)/pkg/linux_* 2>/dev/null || true",
        check=False,
    )
    cmp.notes.append(
        f"builder image: Debian bookworm's golang-go ({' '.join(std.stdout.split())}); "
        "the arm64 image ships its standard library precompiled, the cross build compiles it for arm64"
    )
    return cmp


def _elf_machine_in(modern: Engine, tag: str) -> str:
    """The machine of /out/bin/*'s first file in ``tag`` (read from its ELF header)."""
    container = modern.docker("create", "--platform", "linux/arm64", tag, "true").stdout.strip()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            modern.docker("cp", f"{container}:/out/bin", tmp)
            binary = next(p for p in (Path(tmp) / "bin").iterdir())
            header = binary.read_bytes()[:20]
    finally:
        modern.docker("rm", "--force", container, check=False)
    return {62: "x86-64", 183: "aarch64"}.get(int.from_bytes(header[18:20], "little"), "unknown")


# --- the whole part, and its report -------------------------------------------------------------


def measure(rounds: int, progress: Progress, results: Path, only: tuple[str, ...] = ()) -> dict:
    all_engines = engines()
    modern, legacy = all_engines["modern"], all_engines["legacy"]
    logs = results / "logs" / "build-paths"
    logs.mkdir(parents=True, exist_ok=True)
    comparisons: list[Comparison] = []
    extra: dict = {}
    run_id = uuid.uuid4().hex[:12]
    # (--only podman needs the 20.10 engine alone: the current one is neither used nor pruned)
    used = (legacy,) if only == ("podman",) else (modern, legacy)
    with tempfile.TemporaryDirectory(prefix="sandbox-buildpaths-") as tmp:
        work = Path(tmp)
        for engine in used:
            if not engine.problem(buildx=engine.key == "modern"):
                progress(f"build paths: base image {BENCH_BASE} on the {engine.key} engine (run {run_id}) ...")
                engine.make_base(source_image(), run_id, work)
        if not only or {"engine", "cache"} & set(only):
            engine_part = not only or "engine" in only
            engine_cmp, cache_cmp, registry_cmp, extra = engines_and_cache(modern, legacy, rounds, work, logs, progress, engine_part)
            comparisons += [engine_cmp, cache_cmp, registry_cmp]
        if not only or "arm64" in only:
            comparisons.append(arm64_vs_amd64(modern, rounds, work, logs, progress))
        if not only or "go" in only:
            comparisons.append(go_cross_vs_emulated(modern, rounds, work, logs, progress))
        if not only or "podman" in only:
            comparisons.append(podman_vs_builtin(legacy, rounds, work, logs, progress))
    for engine in used:
        if engine.version:
            engine.remove_images(BENCH_BASE)
    if modern in used and modern.version:
        modern.prune()  # the bench's cache mounts and layers; this engine's cache is ours to clear
    return {
        "rounds": rounds,
        "cpus": os.cpu_count(),
        "engines": {e.key: {"version": e.version, **e.settings} for e in (modern, legacy)},
        "comparisons": [c.as_dict() for c in comparisons],
        **extra,
    }


def _fmt(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.1f} s"


def report(result: dict) -> str:
    lines = [
        f"{result['cpus']} CPUs; medians of {result['rounds']} round(s), A and B alternated in each. "
        f"Engines: current {result['engines']['modern']['version'] or 'missing'} (buildx), "
        f"20.10 {result['engines']['legacy']['version'] or 'missing'} (built-in BuildKit).",
        "",
        "| what | A | B | A (median) | B (median) | ratio | target | met? |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    notes: list[str] = []
    for c in result["comparisons"]:
        if c["skipped"]:
            lines.append(f"| {c['what']} | {c['a']} | {c['b']} | — | — | — | {c['target']} | skipped: {c['skipped']} |")
            continue
        ratio = c["ratio_value"]
        met = "—" if c["at_most"] is None else ("met" if ratio <= c["at_most"] else "**missed**")
        lines.append(
            f"| {c['what']} | {c['a']} | {c['b']} | {_fmt(c['median_s'].get('a'))} | {_fmt(c['median_s'].get('b'))} | "
            f"{ratio:.2f}× ({c['ratio'].replace('a', 'A').replace('b', 'B')}) | {c['target']} | {met} |"
        )
        per_round = ", ".join(f"{a['seconds']:.1f}/{b['seconds']:.1f}" for a, b in zip(c["samples"]["a"], c["samples"]["b"], strict=False))
        steps = ""
        if c["samples"]["b"] and c["samples"]["b"][0].get("ran") is not None:
            steps = "; steps run A/B: " + ", ".join(
                f"{a.get('ran')}/{b.get('ran')}" for a, b in zip(c["samples"]["a"], c["samples"]["b"], strict=False)
            )
        notes.append(
            f"- {c['key']}: per round A/B {per_round} s{steps}; load averages {' → '.join(c['loads'])}. "
            + " ".join(n[0].upper() + n[1:] + "." for n in c["notes"])
        )
    return "\n".join(lines + [""] + notes) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one round; never fails on timings")
    parser.add_argument("--only", action="append", choices=("engine", "cache", "arm64", "go", "podman"), default=[])
    parser.add_argument("--json", type=Path, default=HERE / "results" / "build_paths.json")
    args = parser.parse_args(argv)
    progress = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    try:
        result = measure(1 if args.quick else args.rounds, progress, args.json.parent, tuple(args.only))
    except HarnessError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(report(result), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

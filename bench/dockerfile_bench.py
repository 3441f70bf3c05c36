"""Generated vs hand-written Dockerfile, built side by side on the real engine.

    exports=$(bash .ci/provision-docker.sh) && eval "$exports"   # or any DOCKER_HOST with BuildKit
    .venv/bin/python bench/dockerfile_bench.py [--rounds 3] [--quick] [--json PATH]

"ours" is what `sandbox generate` renders for the scenario's spec; "baseline" is the
hand-written Dockerfile under bench/baseline/ with the same tools and versions. Per round
each variant, in turn (A B A B ...), gets: a cold build (builder cache pruned, images
removed), a no-op rebuild, a rebuild after bumping one release binary, and a rebuild after
adding one apt package (both from the cold build's cache). Size, layer count and wasted
bytes come from the first round's cold image (`docker save`).

Warning: `docker builder prune -af` clears the whole engine's build cache, not only ours.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE))

from layers import analyse_saved_image  # noqa: E402

IMAGE_PREFIX = "sandbox-bench"
#: The base image under a name only this bench uses. BuildKit merges identical vertices
#: of concurrent builds, so a `FROM local/debian:bookworm` shared with someone else's
#: in-flight --no-cache build loses its cache; a private name keeps the vertex private.
BENCH_BASE = "sandbox-bench-base/debian:bookworm"
STATES = ("cold", "noop", "bump", "apt")
TARGETS = {
    "cold": "ours ≤ 0.6× baseline",
    "bump": "ours ≤ 0.15× our own cold build",
    "noop": "≤ 3 s",
    "size": "ours ≤ baseline",
    "wasted": "≤ 1% of the image",
}


class HarnessError(Exception):
    """The benchmark itself could not run (as opposed to a slow result)."""


def docker_cli() -> str:
    return os.environ.get("SANDBOX_DOCKER_CLI") or shutil.which("docker") or "docker"


def docker(*args: str, capture: bool = True, check: bool = True, timeout: float = 3600) -> subprocess.CompletedProcess:
    env = dict(os.environ, DOCKER_BUILDKIT="1")
    result = subprocess.run([docker_cli(), *args], env=env, capture_output=capture, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise HarnessError(f"docker {' '.join(args[:3])} failed ({result.returncode}): {(result.stderr or '')[-2000:]}")
    return result


# --- scenario: what is built, and the two edits applied to it ----------------------------


@dataclass
class Edit:
    """One change made to both variants: to our spec (as data) and to the baseline (as text)."""

    description: str
    spec: Callable[[dict], None]
    #: exact (old, new) replacements in the baseline Dockerfile; each old must occur once
    baseline: list[tuple[str, str]]


@dataclass
class Scenario:
    name: str
    #: spec text for ours (YAML)
    spec_text: str
    #: the baseline Dockerfile text (from bench/baseline/)
    baseline_text: str
    baseline_path: Path
    baseline_args: dict[str, str]
    bump: Edit
    add_apt: Edit
    #: the build context: the spec's directory with the files/ it copies in
    context: Path | None = None
    build_args: dict[str, str] = field(default_factory=dict)


def _rt_yaml():
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def edit_spec(text: str, change: Callable[[dict], None]) -> str:
    import io

    yaml = _rt_yaml()
    data = yaml.load(text)
    change(data)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def edit_baseline(text: str, replacements: list[tuple[str, str]], where: Path) -> str:
    for old, new in replacements:
        count = text.count(old)
        if count != 1:
            raise HarnessError(f"{where}: expected exactly one {old!r} to edit, found {count}")
        text = text.replace(old, new)
    return text


def tool(data: dict, name: str) -> dict:
    for entry in data["tools"]:
        if entry["name"] == name:
            return entry
    raise HarnessError(f"the scenario's spec has no tool {name!r}")


@contextlib.contextmanager
def integration_scenario(work: Path) -> Iterator[Scenario]:
    """The integration spec and its loopback site from tests/integration/ (shared with the
    integration tests, so the bench builds exactly what they build)."""
    sys.path.insert(0, str(REPO))
    from tests.integration import servers, spec as integration

    site = servers.start_site(work / "site")
    try:
        path = integration.write_spec(work / "spec", site, BENCH_BASE)
        baseline_path = HERE / "baseline" / "Dockerfile"
        baseline_text = baseline_path.read_text(encoding="utf-8")
        # the baseline is written out by hand: make sure it still names what the spec installs
        _, hello_sha = site.hello
        expected = {
            f"ARG HELLO_VERSION={servers.HELLO_VERSION}",
            f"ARG HELLO_SHA256={hello_sha}",
            f"ARG UV_VERSION={servers.UV_VERSION}",
            f"ARG UV_SHA256={site.uv[1]}",
            "@".join(site.npm),
            "==".join(site.pypi),
            site.git_pinned,
        }
        stale = sorted(e for e in expected if e not in baseline_text)
        if stale:
            raise HarnessError(f"{baseline_path} no longer matches tests/integration (missing: {', '.join(stale)})")
        old, new = servers.HELLO_VERSION, _next_patch(servers.HELLO_VERSION)
        _, new_sha = servers.make_hello_release(site.root / "releases", new)

        def bump(data: dict) -> None:
            entry = tool(data, "hello")
            entry["version"] = new
            entry["sha256"]["amd64"] = new_sha

        def add_apt(data: dict) -> None:
            tool(data, "shell")["packages"].append("tree")

        yield Scenario(
            name="integration spec (tests/integration/spec.py: 4 apt tools incl. python3 + npm, "
            "2 release binaries, 1 npm, 1 uv, 1 git; all served from 127.0.0.1)",
            spec_text=path.read_text(encoding="utf-8"),
            baseline_text=baseline_text,
            baseline_path=baseline_path,
            baseline_args={"ARTIFACTS": site.url, "BASE_IMAGE": BENCH_BASE},
            bump=Edit(
                f"release binary hello {old} -> {new}",
                bump,
                [
                    (f"ARG HELLO_VERSION={old}", f"ARG HELLO_VERSION={new}"),
                    (f"ARG HELLO_SHA256={hello_sha}", f"ARG HELLO_SHA256={new_sha}"),
                ],
            ),
            add_apt=Edit("apt package tree added to the shell tool", add_apt, [("      sudo \\\n", "      sudo \\\n      tree \\\n")]),
            context=path.parent,
        )
    finally:
        site.stop()


def _next_patch(version: str) -> str:
    major, minor, patch = version.split(".")
    return f"{major}.{minor}.{int(patch) + 1}"


# --- the two variants ----------------------------------------------------------------------


@dataclass
class Variant:
    name: str
    #: state -> Dockerfile text
    dockerfiles: dict[str, str]
    build_args: dict[str, str]


def render_ours(scenario: Scenario, work: Path) -> Variant:
    """Each state's Dockerfile, produced by `sandbox generate` on the (edited) spec."""
    texts = {"cold": scenario.spec_text}
    texts["bump"] = edit_spec(scenario.spec_text, scenario.bump.spec)
    texts["apt"] = edit_spec(scenario.spec_text, scenario.add_apt.spec)
    dockerfiles = {}
    for state, text in texts.items():
        directory = work / f"ours-{state}"
        directory.mkdir(parents=True, exist_ok=True)
        if scenario.context is not None:
            shutil.copytree(scenario.context, directory, dirs_exist_ok=True)
        (directory / "sandbox.yaml").write_text(text, encoding="utf-8")
        result = subprocess.run(
            [str(VENV_BIN / "sandbox"), "--spec", "sandbox.yaml", "generate"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise HarnessError(f"sandbox generate failed for state {state}:\n{result.stdout}{result.stderr}")
        dockerfiles[state] = (directory / "Dockerfile").read_text(encoding="utf-8")
    dockerfiles["noop"] = dockerfiles["cold"]
    return Variant("ours", dockerfiles, dict(scenario.build_args))


def render_baseline(scenario: Scenario) -> Variant:
    cold = scenario.baseline_text
    dockerfiles = {
        "cold": cold,
        "noop": cold,
        "bump": edit_baseline(cold, scenario.bump.baseline, scenario.baseline_path),
        "apt": edit_baseline(cold, scenario.add_apt.baseline, scenario.baseline_path),
    }
    return Variant("baseline", dockerfiles, {**scenario.build_args, **scenario.baseline_args})


# --- building and measuring ------------------------------------------------------------------


def bench_images() -> list[str]:
    out = docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    return [line for line in out.split() if line.startswith(f"{IMAGE_PREFIX}-") and line != BENCH_BASE and not line.endswith(":<none>")]


def make_cold() -> None:
    images = bench_images()
    if images:
        docker("image", "rm", "--force", *images)
    docker("builder", "prune", "--all", "--force")


def build(variant: Variant, state: str, context: Path, logs: Path, round_no: int) -> dict:
    dockerfile = logs.parent / "dockerfiles" / f"{variant.name}.{state}.Dockerfile"
    dockerfile.parent.mkdir(parents=True, exist_ok=True)
    dockerfile.write_text(variant.dockerfiles[state], encoding="utf-8")
    tag = f"{IMAGE_PREFIX}-{variant.name}:{state}"
    args = ["build", "--progress", "plain", "--network", "host", "-f", str(dockerfile), "-t", tag]
    for key, value in variant.build_args.items():
        args += ["--build-arg", f"{key}={value}"]
    start = time.perf_counter()
    result = docker(*args, str(context), check=False)
    seconds = time.perf_counter() - start
    log = logs / f"round{round_no}-{variant.name}-{state}.log"
    log.write_text(result.stdout + result.stderr, encoding="utf-8")
    if result.returncode != 0:
        raise HarnessError(f"{variant.name} {state} build failed; log: {log}\n{result.stderr[-3000:]}")
    text = result.stderr + result.stdout
    wait = cache_lock_wait(text)
    return {
        "seconds": seconds,
        "cache_lock_wait_s": wait,
        "seconds_without_lock_wait": seconds - wait,
        "cached_steps": sum(1 for line in text.splitlines() if re.fullmatch(r"#\d+ CACHED", line)),
        "log": str(log),
        "tag": tag,
    }


def cache_lock_wait(log: str) -> float:
    """Seconds apt RUN steps with cache mounts spent before their first output line.

    Cache mounts (`--mount=type=cache,sharing=locked`) are shared by every build on the
    engine under the same id; while another build holds one, ours waits. apt-get prints
    its first line within a fraction of a second, so the offset of a step's first line
    is, to within that, the time it waited for the lock.
    """
    headers: dict[str, bool] = {}
    first: dict[str, float] = {}
    for line in log.splitlines():
        match = re.match(r"#(\d+) (\S+)", line)
        if not match:
            continue
        step, word = match.groups()
        if step not in headers:
            # apt only: it prints its first line at once, while npm or uv print only when done
            headers[step] = "target=/var/lib/apt," in line or "target=/var/cache/apt," in line
            continue
        if headers[step] and step not in first and re.fullmatch(r"\d+\.\d+", word):
            first[step] = float(word)
    return sum(first.values())


def image_facts(tag: str, work: Path) -> dict:
    inspect = json.loads(docker("image", "inspect", tag).stdout)[0]
    archive = work / "save.tar"
    docker("save", "-o", str(archive), tag)
    try:
        stats = analyse_saved_image(archive)
    finally:
        archive.unlink(missing_ok=True)
    return {"size_bytes": inspect["Size"], "layers": len(inspect["RootFS"]["Layers"]), **stats.as_dict()}


def base_layers(reference: str) -> int:
    result = docker("image", "inspect", "--format", "{{len .RootFS.Layers}}", reference, check=False)
    return int(result.stdout.strip()) if result.returncode == 0 else 0


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def complete_context(context: Path, spec_path: Path) -> None:
    """Add what `sandbox build` puts into its context besides the spec's files: the generator's
    scripts the stages run and the image's SBOM (generator.docker.context; the SBOM of the
    cold state serves every state: only the release-file stage copies it, and that stage runs
    in every build anyway)."""
    from generator.docker.context import generator_scripts
    from generator.loader import load_spec
    from generator.lockfile import Lock
    from generator.paths import SBOM_CONTEXT_PATH
    from generator.sbom.document import render as render_sbom

    spec = load_spec(spec_path)
    for relative, path in generator_scripts(spec):
        (context / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, context / relative)
    (context / SBOM_CONTEXT_PATH).write_text(render_sbom(spec, Lock.beside(spec_path)), encoding="utf-8")


def run(scenario: Scenario, rounds: int, work: Path, logs: Path, progress: Callable[[str], None]) -> dict:
    context = scenario.context or work / "context"
    context.mkdir(parents=True, exist_ok=True)
    variants = [render_ours(scenario, work), render_baseline(scenario)]
    complete_context(context, work / "ours-cold" / "sandbox.yaml")
    samples: dict[str, dict[str, list[float]]] = {v.name: {s: [] for s in STATES} for v in variants}
    adjusted: dict[str, dict[str, list[float]]] = {v.name: {s: [] for s in STATES} for v in variants}
    builds: list[dict] = []
    facts: dict[str, dict] = {}
    loads = [load_average()]
    for round_no in range(1, rounds + 1):
        for variant in variants:
            make_cold()
            for state in STATES:
                progress(f"round {round_no}/{rounds}: {variant.name} {state} ...")
                record = build(variant, state, context, logs, round_no)
                samples[variant.name][state].append(record["seconds"])
                adjusted[variant.name][state].append(record["seconds_without_lock_wait"])
                builds.append({"round": round_no, "variant": variant.name, "state": state, **record})
                progress(
                    f"  {record['seconds']:.1f} s ({record['cached_steps']} steps cached, "
                    f"{record['cache_lock_wait_s']:.1f} s waiting for cache-mount locks)"
                )
                if round_no == 1 and state == "cold":
                    facts[variant.name] = image_facts(record["tag"], work)
            loads.append(load_average())
    make_cold()
    medians = {v: {s: statistics.median(x) for s, x in states.items()} for v, states in samples.items()}
    medians_adjusted = {v: {s: statistics.median(x) for s, x in states.items()} for v, states in adjusted.items()}
    return {
        "scenario": scenario.name,
        "bump": scenario.bump.description,
        "add_apt": scenario.add_apt.description,
        "rounds": rounds,
        "cpus": os.cpu_count(),
        "load_averages": loads,
        "docker": docker("version", "--format", "{{.Server.Version}}").stdout.strip(),
        "samples_s": samples,
        "median_s": medians,
        "samples_without_lock_wait_s": adjusted,
        "median_without_lock_wait_s": medians_adjusted,
        "image": facts,
        "builds": builds,
        "dockerfiles": {v.name: v.dockerfiles["cold"] for v in variants},
    }


# --- report ---------------------------------------------------------------------------------


def _mib(n: float) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"


def _ok(flag: bool) -> str:
    return "met" if flag else "**missed**"


def verdicts(result: dict, key: str = "median_s") -> dict[str, bool]:
    med, img = result[key], result["image"]
    ours, base = med["ours"], med["baseline"]
    return {
        "cold": ours["cold"] <= 0.6 * base["cold"],
        "bump": ours["bump"] <= 0.15 * ours["cold"],
        "noop": ours["noop"] <= 3.0,
        "size": img["ours"]["size_bytes"] <= img["baseline"]["size_bytes"],
        "wasted": img["ours"]["wasted_bytes"] <= 0.01 * img["ours"]["size_bytes"],
    }


def report(result: dict) -> str:
    raw, adj, img = result["median_s"], result["median_without_lock_wait_s"], result["image"]
    ok, ok_adj = verdicts(result), verdicts(result, "median_without_lock_wait_s")
    o, b = img["ours"], img["baseline"]

    def verdict(name: str) -> str:
        if ok[name] == ok_adj[name]:
            return _ok(ok[name])
        return f"{_ok(ok[name])} as measured; {_ok(ok_adj[name])} without lock waits"

    def timing(label: str, state: str, target: str) -> str:
        r, a = raw["ours"][state], adj["ours"][state]
        rb = raw["baseline"][state]
        return f"| {label} | {r:.1f} s ({a:.1f} s) | {rb:.1f} s | {r / rb:.2f} ({a / rb:.2f}) | {target} |"

    lines = [
        f"Scenario: {result['scenario']}. Engine: Docker {result['docker']} (BuildKit), {result['cpus']} CPUs, "
        f"load average (1/5/15 min) before and after each variant: {'; '.join(result['load_averages'])}. "
        f"Medians of {result['rounds']} round(s), variants alternated. Times in parentheses leave out the time "
        "our RUN steps waited for cache-mount locks held by other builds on the same engine "
        "(the baseline has no cache mounts, so it never waits).",
        "",
        "| metric | ours | baseline | ours/baseline | target |",
        "|---|---:|---:|---:|---|",
        timing("cold build", "cold", f"≤ 0.60 — {verdict('cold')}"),
        timing("no-op rebuild", "noop", f"ours ≤ 3 s — {verdict('noop')}"),
        timing(
            f"rebuild after bump ({result['bump']})",
            "bump",
            f"ours ≤ 0.15× our cold: {raw['ours']['bump'] / raw['ours']['cold']:.3f}× "
            f"({adj['ours']['bump'] / adj['ours']['cold']:.3f}×) — {verdict('bump')}",
        ),
        timing(f"rebuild after adding an apt package ({result['add_apt']})", "apt", "—"),
        f"| image size | {_mib(o['size_bytes'])} | {_mib(b['size_bytes'])} | "
        f"{o['size_bytes'] / b['size_bytes']:.2f} | ≤ 1.00 — {verdict('size')} |",
        f"| layers | {o['layers']} | {b['layers']} | {o['layers'] / b['layers']:.2f} | — |",
        f"| bytes wasted in layers | {_mib(o['wasted_bytes'])} ({100 * o['wasted_bytes'] / o['size_bytes']:.2f}% of image) | "
        f"{_mib(b['wasted_bytes'])} ({100 * b['wasted_bytes'] / b['size_bytes']:.2f}%) | "
        f"{o['wasted_bytes'] / b['wasted_bytes'] if b['wasted_bytes'] else float('nan'):.3f} | "
        f"ours ≤ 1% of image — {verdict('wasted')} |",
    ]
    lines += ["", "Biggest wasted files (path, size, written by layer → hidden by layer; L0 is the base image):", ""]
    for name in ("ours", "baseline"):
        top = ", ".join(f"`{p}` {_mib(s)} (L{w}→L{h})" for s, p, w, h in img[name]["top_wasted"][:5]) or "none"
        lines.append(f"- {name}: {top}")
    return "\n".join(lines) + "\n"


def engine_available() -> str | None:
    """None when the engine answers, else why not."""
    try:
        result = docker("version", "--format", "{{.Server.Version}}", check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return None if result.returncode == 0 else (result.stderr.strip() or "docker version failed")


@contextlib.contextmanager
def scenario_for(work: Path, which: str) -> Iterator[Scenario]:
    if which == "integration":
        with integration_scenario(work) as scenario:
            yield scenario
        return
    raise HarnessError(f"unknown scenario {which!r}")


def measure(rounds: int, which: str, progress: Callable[[str], None], results: Path) -> dict:
    problem = engine_available()
    if problem:
        raise HarnessError(f"no Docker engine: {problem}")
    source = os.environ.get("SANDBOX_TEST_BASE_IMAGE", "local/debian:bookworm")
    if docker("image", "inspect", source, check=False).returncode != 0:
        raise HarnessError(f"base image {source} is not in the engine (set SANDBOX_TEST_BASE_IMAGE)")
    docker("tag", source, BENCH_BASE)
    with tempfile.TemporaryDirectory(prefix="sandbox-dockerbench-") as tmp:
        work = Path(tmp)
        logs = results / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with scenario_for(work, which) as scenario:
            return run(scenario, rounds, work, logs, progress)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one round; never fails on timings")
    parser.add_argument(
        "--scenario", choices=("integration",), default="integration", help="the spec and loopback servers of tests/integration/"
    )
    parser.add_argument("--json", type=Path, default=HERE / "results" / "dockerfile_bench.json")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    try:
        result = measure(rounds, args.scenario, lambda line: print(line, file=sys.stderr, flush=True), args.json.parent)
    except HarnessError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(report(result), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

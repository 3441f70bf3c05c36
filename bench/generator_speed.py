"""Generator speed: `sandbox generate` / `sandbox check` next to the import floor, and
generation time on synthetic specs of growing size.

    .venv/bin/python bench/generator_speed.py [--runs 15] [--sizes 10,100,1000] [--json PATH]

Each timed command runs in a fresh interpreter (subprocess). The commands are
interleaved round by round so machine load hits all of them alike. Bytecode is cached
in a private PYTHONPYCACHEPREFIX (warmed up first), as it is for anyone who installed
the package; the checkout is never written to: the spec is copied to a temp dir first.
`generate` and `check` are timed twice: with a warm result cache (the inputs are those
of the previous run: generator/cache.py answers) and a cold one (its entries are deleted
before every such run, so the spec is loaded and rendered; compiled templates stay cached).
The cache lives in a private XDG_CACHE_HOME, never the user's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV_BIN = Path(sys.executable).parent
FLOOR = "import pydantic, jinja2, ruamel.yaml"
TARGET_RATIO = 1.5
TARGET_1000_S = 1.0

#: Phases of one `sandbox check`, timed inside one interpreter (what costs what): first
#: what a cache hit does, then what a miss adds (the work of a run without the cache).
_PHASES = r"""
import time, json, sys
t0 = time.perf_counter(); marks = []
def mark(name): marks.append((name, time.perf_counter()))
import click; mark("hit: click")
import generator.cli; from generator.commands import spec as _commands; mark("hit: generator.cli, generator.commands.spec, generator.cache")
from pathlib import Path
from generator.cache import ResultCache
path = Path(sys.argv[1])
results = ResultCache(path, ())
entry = results.lookup(); mark("hit: key (spec + lock bytes, generator fingerprint) and entry lookup")
assert entry is not None and entry.matches_disk(path), "the phase run expects a warm cache"
mark("hit: sha256 of the outputs on disk")
import pydantic, jinja2, ruamel.yaml; mark("miss: import pydantic, jinja2, ruamel.yaml (the floor; pydantic is lazy)")
from pydantic import BaseModel; mark("miss: pydantic.BaseModel (pydantic's real import)")
import generator.spec; mark("miss: field types, method models, Spec models (schema build)")
from generator.project import Project; mark("miss: loader, render, lockfile, output modules")
project = Project.load(path); mark("miss: load_spec (compose YAML, validate, cross-field issues)")
outputs = project.outputs(); mark("miss: render, first call (templates from the bytecode cache)")
from generator.supply.lock import stale_entries; stale_entries(project.spec, project.lock); mark("miss: stale-lock check")
outputs = project.outputs(); mark("(render, second call)")
prev, out = t0, []
for name, t in marks:
    out.append([name, t - prev]); prev = t
print(json.dumps(out))
"""


def bench_env(pycache: Path, cache_home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("SANDBOX_NO_CACHE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["XDG_CACHE_HOME"] = str(cache_home)
    return env


def results_dir(cache_home: Path) -> Path:
    """Where generator/cache.py keeps its entries under that cache home."""
    return cache_home / "opencode-sandbox" / "results"


def copy_project(spec: Path, dest: Path) -> Path:
    """The spec plus what sits beside it (lock, files/, generated outputs) in a temp dir."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in spec.parent.iterdir():
        if item.name in {"sandbox.lock", "files"} or item == spec or item.name.startswith("Dockerfile"):
            if item.is_dir():
                shutil.copytree(item, dest / item.name)
            else:
                shutil.copy2(item, dest / item.name)
    return dest / spec.name


def _time(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    return time.perf_counter() - start


#: the timed commands: name -> (sandbox arguments or None for the floor, result cache cold?)
COMMANDS = {
    "floor": (None, False),
    "generate": (["generate"], False),
    "check": (["check"], False),
    "generate_cold": (["generate"], True),
    "check_cold": (["check"], True),
}


def cli_timings(spec: Path, runs: int, work: Path) -> dict:
    cache_home = work / "cache"
    env = bench_env(work / "pycache", cache_home)
    copy = copy_project(spec, work / "project")
    sandbox = str(VENV_BIN / "sandbox")
    commands = {
        name: ([sys.executable, "-c", FLOOR] if args is None else [sandbox, "--spec", copy.name, *args], cold)
        for name, (args, cold) in COMMANDS.items()
    }
    for cmd, _cold in commands.values():  # warm-up: bytecode caches, page cache, first generate writes
        _time(cmd, copy.parent, env)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (cmd, cold) in commands.items():
            if cold:
                shutil.rmtree(results_dir(cache_home), ignore_errors=True)
            samples[name].append(_time(cmd, copy.parent, env))
            if cold:  # the run recorded its result: the next warm run is a hit, as for a user
                assert any(results_dir(cache_home).glob("*.json")), f"{name} stored no cache entry"
    medians = {name: statistics.median(values) for name, values in samples.items()}
    phases = json.loads(
        subprocess.run(
            [sys.executable, "-c", _PHASES, copy.name], cwd=copy.parent, env=env, capture_output=True, text=True, check=True
        ).stdout
    )
    return {
        "spec": str(spec),
        "runs": runs,
        "samples_s": samples,
        "median_s": medians,
        **{f"ratio_{name}": medians[name] / medians["floor"] for name in commands if name != "floor"},
        "phases_s": phases,
    }


def scaling_timings(sizes: list[int], runs: int, work: Path) -> dict:
    """In-process load_spec + render on synthetic specs; medians after one warm-up."""
    sys.path.insert(0, str(HERE))
    import synthetic  # bench helper beside this file

    from generator import load_spec, render

    rows = []
    for size in sizes:
        path = synthetic.write_spec(work / "synthetic", size)
        load_spec(path)  # warm-up
        render(load_spec(path))
        loads, renders = [], []
        for _ in range(runs):
            start = time.perf_counter()
            spec = load_spec(path)
            middle = time.perf_counter()
            render(spec)
            loads.append(middle - start)
            renders.append(time.perf_counter() - middle)
        totals = [a + b for a, b in zip(loads, renders, strict=True)]
        total = statistics.median(totals)
        rows.append(
            {
                "tools": size,
                "spec_bytes": path.stat().st_size,
                "load_s": statistics.median(loads),
                "render_s": statistics.median(renders),
                "total_s": total,
                "per_tool_ms": total / size * 1000,
            }
        )
    return {"runs": runs, "rows": rows}


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3]) + f" ({os.cpu_count()} CPUs)"
    except OSError:
        return "unknown"


def measure(spec: Path, runs: int, sizes: list[int], scale_runs: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as tmp:
        work = Path(tmp)
        load_before = load_average()
        cli = cli_timings(spec, runs, work)
        scaling = scaling_timings(sizes, scale_runs, work)
    return {
        "python": sys.version.split()[0],
        "load_before": load_before,
        "load_after": load_average(),
        "cli": cli,
        "scaling": scaling,
    }


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def report(result: dict) -> str:
    cli, scaling = result["cli"], result["scaling"]
    med = cli["median_s"]
    lines = [
        f"Generator speed (median of {cli['runs']} fresh-interpreter runs, interleaved; "
        f"load {result['load_before']} -> {result['load_after']})",
        "",
        "| command | median | × floor | target |",
        "|---|---:|---:|---|",
        f"| `python -c \"{FLOOR}\"` (floor) | {med['floor'] * 1000:.0f} ms | 1.00 | |",
    ]
    labels = {
        "generate": "`sandbox generate` (default spec), warm result cache: inputs unchanged",
        "check": "`sandbox check` (default spec), warm result cache: inputs unchanged",
        "generate_cold": "`sandbox generate`, cold result cache: spec loaded and rendered",
        "check_cold": "`sandbox check`, cold result cache: spec loaded and rendered",
    }
    for name, label in labels.items():
        ratio = cli[f"ratio_{name}"]
        lines.append(
            f"| {label} | {med[name] * 1000:.0f} ms | {ratio:.2f} | "
            f"≤ {TARGET_RATIO}× — {_verdict(ratio <= TARGET_RATIO)} |"
        )
    lines += ["", "Where one `sandbox check` spends its time (one in-process run):", "", "| phase | ms |", "|---|---:|"]
    lines += [f"| {name} | {seconds * 1000:.1f} |" for name, seconds in cli["phases_s"]]
    rows = scaling["rows"]
    lines += [
        "",
        f"Generation time, in-process `load_spec` + `render` (median of {scaling['runs']} runs, synthetic specs, "
        "all nine install methods):",
        "",
        "| tools | spec size | load_spec | render | total | per tool |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['tools']} | {row['spec_bytes'] / 1024:.0f} KiB | {row['load_s'] * 1000:.1f} ms | "
            f"{row['render_s'] * 1000:.1f} ms | {row['total_s'] * 1000:.1f} ms | {row['per_tool_ms']:.3f} ms |"
        )
    biggest = max(rows, key=lambda r: r["tools"])
    smallest = min(rows, key=lambda r: r["tools"])
    growth = (biggest["per_tool_ms"] / smallest["per_tool_ms"]) if smallest is not biggest else 1.0
    lines += [
        "",
        f"Per-tool time at {biggest['tools']} tools is {growth:.2f}× the per-tool time at {smallest['tools']} "
        f"(1.0 = perfectly linear; below 1 means fixed costs are amortised).",
    ]
    if biggest["tools"] >= 1000:
        ok = biggest["total_s"] <= TARGET_1000_S
        lines.append(f"Target ≤ {TARGET_1000_S:.0f} s at 1,000 tools: {_verdict(ok)} ({biggest['total_s']:.2f} s).")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=REPO / "sandbox.yaml")
    parser.add_argument("--runs", type=int, default=15, help="fresh-interpreter runs per command (>= 10 for the report)")
    parser.add_argument("--sizes", default="10,100,1000", help="synthetic spec sizes (tools)")
    parser.add_argument("--scale-runs", type=int, default=5, help="in-process runs per synthetic size")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args(argv)
    result = measure(args.spec.resolve(), args.runs, [int(s) for s in args.sizes.split(",")], args.scale_runs)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(report(result), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

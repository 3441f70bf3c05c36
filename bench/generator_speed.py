"""Generator speed: `sandbox generate` / `sandbox check` next to the import floor, and
generation time on synthetic specs of growing size.

    .venv/bin/python bench/generator_speed.py [--runs 15] [--sizes 10,100,1000] [--json PATH]
        [--baseline ../main]

The target (issue 22) is cold `generate` at most 1.5x *the floor*: the smallest program
that imports pydantic, jinja2 and ruamel.yaml and validates one pydantic model with one
validator (a model of one int field with a field validator, validated once). Two rows
below it show what it is made of: the bare imports (`import pydantic` is lazy: it loads
almost nothing until a name such as BaseModel is asked for) and the same with
`from pydantic import BaseModel` (what any use of pydantic pays).
--baseline times another checkout's `sandbox` (its own .venv) in the same rounds, so a
change is compared side by side under the same load.

Each timed command runs in a fresh interpreter (subprocess). The commands are
interleaved round by round so machine load hits all of them alike. Bytecode is cached
in a private PYTHONPYCACHEPREFIX (warmed up first), as it is for anyone who installed
the package; the checkout is never written to: the spec is copied to a temp dir first.
Each run's wall time and CPU time (user + system, of the process and its children) are
both reported: on a machine shared with other work the wall time swings with the load, the
CPU time much less. `generate` and `check` are timed twice: with a warm result cache (the inputs are those
of the previous run: generator/cache.py answers) and a cold one (its entries are deleted
before every such run, so the spec is loaded and rendered; compiled templates stay cached).
The cache lives in a private XDG_CACHE_HOME, never the user's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV_BIN = Path(sys.executable).parent
IMPORTS = "import pydantic, jinja2, ruamel.yaml"
#: the imports plus pydantic's real import
IMPORTS_MODEL = IMPORTS + "; from pydantic import BaseModel"
#: the floor the target is measured against: the imports, one model with one validator, one validation
FLOOR = (
    "import pydantic, jinja2, ruamel.yaml\n"
    "from pydantic import BaseModel, field_validator\n"
    "class One(BaseModel):\n"
    "    n: int\n"
    "    @field_validator('n')\n"
    "    @classmethod\n"
    "    def positive(cls, value):\n"
    "        if value < 1:\n"
    "            raise ValueError('not positive')\n"
    "        return value\n"
    "One(n=1)"
)
TARGET_RATIO = 1.5
TARGET_1000_S = 1.0

#: Phases of one `sandbox check`, timed inside one interpreter (what costs what): first
#: what a cache hit does, then what a miss adds (the work of a run without the cache).
#: The rows in parentheses are not part of the run: the same work again, or work the run
#: avoids (what the lazy imports save), for comparison.
_PHASES = r"""
import time, json, sys
from pathlib import Path
t0 = time.perf_counter(); marks = []
def mark(name): marks.append((name, time.perf_counter()))
import click; mark("hit: click")
import generator.cli; from generator.commands import spec as _commands; mark("hit: generator.cli, generator.commands.spec, generator.cache")
import gc  # as the sandbox command's run() does, where it does (a checkout without it keeps the default)
gc.set_threshold(getattr(generator.cli, "GC_YOUNG_THRESHOLD", gc.get_threshold()[0]), *gc.get_threshold()[1:])
from generator.cache import ResultCache
path = Path(sys.argv[1])
results = ResultCache(path, ())
entry = results.lookup(); mark("hit: key (spec + lock bytes, generator fingerprint) and entry lookup")
assert entry is not None and entry.matches_disk(path), "the phase run expects a warm cache"
mark("hit: sha256 of the outputs on disk")
import pydantic, jinja2, ruamel.yaml; mark("miss: import pydantic, jinja2, ruamel.yaml (the floor; pydantic is lazy)")
from pydantic import BaseModel; mark("miss: pydantic.BaseModel (pydantic's real import)")
import generator.fields; mark("miss: generator.fields (the constrained field types; pydantic.types)")
import generator.methods.registry; mark("miss: generator.methods.registry (the install-method models)")
import generator.spec; mark("miss: generator.spec (the Spec models)")
from generator.project import Project; mark("miss: loader, render, lockfile, output modules")
project = Project.load(path); mark("miss: load_spec (compose the YAML, build Spec's validator if deferred, validate, cross-field issues)")
outputs = project.outputs(); mark("miss: render, first call (templates from the bytecode cache)")
from generator.supply.lock import stale_entries; stale_entries(project.spec, project.lock); mark("miss: stale-lock check")
outputs = project.outputs(); mark("(render, second call)")
from generator.yamltree import compose
compose(path.read_text(encoding="utf-8"), path.name); mark("(composing the spec's YAML alone, second call: ruamel's pure-Python parser)")
import generator.commands.docker, generator.commands.build, generator.commands.cost, generator.commands.supply
mark("(importing the other command modules: what generator.cli's _LazyGroup defers)")
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
    """The spec plus what sits beside it (lock, locks/, files/, generated outputs: the
    Dockerfiles, compose.yaml and gate/) in a temp dir."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in spec.parent.iterdir():
        if item.name in {"sandbox.lock", "locks", "files", "compose.yaml", "gate"} or item == spec or item.name.startswith("Dockerfile"):
            if item.is_dir():
                shutil.copytree(item, dest / item.name)
            else:
                shutil.copy2(item, dest / item.name)
    return dest / spec.name


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``cmd``. On a machine shared
    with other work, wall time swings with the load; CPU time much less."""
    start, cpu = time.perf_counter(), _children_cpu()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    return time.perf_counter() - start, _children_cpu() - cpu


#: the timed sandbox commands: name -> (sandbox arguments, result cache cold?)
COMMANDS = {
    "generate": (["generate"], False),
    "check": (["check"], False),
    "generate_cold": (["generate"], True),
    "check_cold": (["check"], True),
}
#: What a cache hit imports, and what it would import without each lazy import (python -c):
#: generator.cli's _LazyGroup imports a command module only when one of its commands runs;
#: generator/__init__ gives load_spec and render on first use (the module-class swap keeps
#: `generator.render` the function when the submodule of that name is imported later).
HIT_IMPORTS = {
    "hit_imports": "import generator.cli, generator.commands.spec, generator.cache",
    "hit_imports_eager_commands": "import generator.cli, generator.commands.spec, generator.cache, "
    "generator.commands.docker, generator.commands.build, generator.commands.cost, generator.commands.supply",
    "hit_imports_eager_package": "import generator.cli, generator.commands.spec, generator.cache; "
    "from generator.loader import load_spec; from generator.render import render",
}
#: what a baseline checkout's rows are called: the same names with this suffix
BASELINE = " (baseline)"


@dataclass
class Checkout:
    """One checkout's interpreter and its private bytecode and result caches."""

    python: Path
    sandbox: Path
    env: dict[str, str]
    cache_home: Path

    @classmethod
    def at(cls, venv_bin: Path, work: Path) -> Checkout:
        cache_home = work / "cache"
        return cls(venv_bin / "python", venv_bin / "sandbox", bench_env(work / "pycache", cache_home), cache_home)


def phase_timings(checkout: Checkout, spec: Path) -> list[list]:
    """One in-process run of _PHASES: [name, seconds] per phase."""
    result = subprocess.run(
        [str(checkout.python), "-c", _PHASES, spec.name], cwd=spec.parent, env=checkout.env, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def cli_timings(spec: Path, runs: int, work: Path, baseline: Path | None = None) -> dict:
    copy = copy_project(spec, work / "project")
    checkouts = {"": Checkout.at(VENV_BIN, work / "this")}
    if baseline is not None:
        checkouts[BASELINE] = Checkout.at(baseline / ".venv" / "bin", work / "baseline")
    this = checkouts[""]
    #: name -> (command, the checkout whose caches it uses, result cache cold?)
    commands: dict[str, tuple[list[str], Checkout, bool]] = {
        "floor": ([sys.executable, "-c", FLOOR], this, False),
        "imports": ([sys.executable, "-c", IMPORTS], this, False),
        "imports_model": ([sys.executable, "-c", IMPORTS_MODEL], this, False),
        **{name: ([sys.executable, "-c", code], this, False) for name, code in HIT_IMPORTS.items()},
    }
    for suffix, checkout in checkouts.items():
        for name, (args, cold) in COMMANDS.items():
            commands[name + suffix] = ([str(checkout.sandbox), "--spec", copy.name, *args], checkout, cold)
    for cmd, checkout, _cold in commands.values():  # warm-up: bytecode caches, page cache, first generate writes
        _time(cmd, copy.parent, checkout.env)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    cpu_samples: dict[str, list[float]] = {name: [] for name in commands}
    phase_runs: dict[str, list[list[list]]] = {suffix: [] for suffix in checkouts}
    for _ in range(runs):
        for name, (cmd, checkout, cold) in commands.items():
            if cold:
                shutil.rmtree(results_dir(checkout.cache_home), ignore_errors=True)
            wall, cpu = _time(cmd, copy.parent, checkout.env)
            samples[name].append(wall)
            cpu_samples[name].append(cpu)
            if cold:  # the run recorded its result: the next warm run is a hit, as for a user
                assert any(results_dir(checkout.cache_home).glob("*.json")), f"{name} stored no cache entry"
        for suffix, checkout in checkouts.items():  # after the warm runs: the phase run starts with a hit
            phase_runs[suffix].append(phase_timings(checkout, copy))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu_samples.items()}
    phases = {
        suffix: [[name, statistics.median(run[i][1] for run in rows)] for i, (name, _s) in enumerate(rows[0])]
        for suffix, rows in phase_runs.items()
    }
    return {
        "spec": str(spec),
        "runs": runs,
        "baseline": str(baseline) if baseline else None,
        "samples_s": samples,
        "median_s": medians,
        "cpu_samples_s": cpu_samples,
        "cpu_median_s": cpu_medians,
        **{f"ratio_{name}": medians[name] / medians["floor"] for name in commands if name != "floor"},
        **{f"cpu_ratio_{name}": cpu_medians[name] / cpu_medians["floor"] for name in commands if name != "floor"},
        "phases_s": phases[""],
        **({"baseline_phases_s": phases[BASELINE]} if baseline else {}),
    }


def scaling_timings(sizes: list[int], runs: int, work: Path) -> dict:
    """In-process load_spec + render on synthetic specs; medians after one warm-up."""
    sys.path.insert(0, str(HERE))
    import synthetic  # bench helper beside this file

    from generator import load_spec, render
    from generator.lockfile import Lock

    rows = []
    for size in sizes:
        path = synthetic.write_spec(work / "synthetic", size)
        load_spec(path)  # warm-up
        render(load_spec(path), None, Lock())
        loads, renders = [], []
        for _ in range(runs):
            start = time.perf_counter()
            spec = load_spec(path)
            middle = time.perf_counter()
            render(spec, None, Lock())
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


def problem_timings(counts: list[int], runs: int, work: Path) -> dict:
    """In-process: a valid 10-tool spec plus N unknown top-level keys, each one a problem;
    the time to report them all (median), per problem. Reporting was once quadratic (a scan
    of the mapping per problem: 42 s for 20,000); the per-problem ratio shows it is not."""
    sys.path.insert(0, str(HERE))
    import synthetic  # bench helper beside this file

    from generator.errors import SpecError
    from generator.loader import parse

    valid = synthetic.write_spec(work / "problems", 10).read_text(encoding="utf-8")
    rows = []
    for count in counts:
        text = valid + "".join(f"unknown{i}: {i}\n" for i in range(count))
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            try:
                parse(text, "problems.yaml")
            except SpecError as exc:
                found = len(exc.problems)
            samples.append(time.perf_counter() - start)
        if found != count:
            raise RuntimeError(f"{count} unknown keys gave {found} problems")
        seconds = statistics.median(samples)
        rows.append({"problems": count, "total_s": seconds, "per_problem_ms": seconds / count * 1000})
    return {"runs": runs, "rows": rows}


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3]) + f" ({os.cpu_count()} CPUs)"
    except OSError:
        return "unknown"


def measure(spec: Path, runs: int, sizes: list[int], scale_runs: int, baseline: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as tmp:
        work = Path(tmp)
        load_before = load_average()
        cli = cli_timings(spec, runs, work, baseline)
        scaling = scaling_timings(sizes, scale_runs, work)
        problems = problem_timings([2_000, 20_000], 3, work)
    return {
        "python": sys.version.split()[0],
        "load_before": load_before,
        "load_after": load_average(),
        "cli": cli,
        "scaling": scaling,
        "problems": problems,
    }


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def report(result: dict) -> str:
    cli, scaling = result["cli"], result["scaling"]
    med = cli["median_s"]
    baseline = cli.get("baseline")
    cpu = cli["cpu_median_s"]
    columns = "| command | median | × floor | CPU | × floor (CPU) |" + (" baseline | × floor | CPU | × floor (CPU) |" if baseline else "")
    empty = " | | | |" if baseline else ""
    lines = [
        f"Generator speed (median of {cli['runs']} fresh-interpreter runs, interleaved; "
        f"load {result['load_before']} -> {result['load_after']})" + (f"; baseline: {baseline}" if baseline else ""),
        "",
        columns + " target (× floor) |",
        "|---|" + "---:|" * (columns.count("|") - 2) + "---|",
        "| floor: the three imports, one model of one `int` field with one field validator, one validation | "
        f"{med['floor'] * 1000:.0f} ms | 1.00 | {cpu['floor'] * 1000:.0f} ms | 1.00 |{empty} |",
        f'| (its imports alone: `python -c "{IMPORTS}"`; `import pydantic` is lazy) | {med["imports"] * 1000:.0f} ms | '
        f"{cli['ratio_imports']:.2f} | {cpu['imports'] * 1000:.0f} ms | {cli['cpu_ratio_imports']:.2f} |{empty} |",
        f"| (the imports and `from pydantic import BaseModel`) | {med['imports_model'] * 1000:.0f} ms | "
        f"{cli['ratio_imports_model']:.2f} | {cpu['imports_model'] * 1000:.0f} ms | {cli['cpu_ratio_imports_model']:.2f} |{empty} |",
    ]
    labels = {
        "generate": "`sandbox generate` (default spec), warm result cache: inputs unchanged",
        "check": "`sandbox check` (default spec), warm result cache: inputs unchanged",
        "generate_cold": "`sandbox generate`, cold result cache: spec loaded and rendered",
        "check_cold": "`sandbox check`, cold result cache: spec loaded and rendered",
    }
    for name, label in labels.items():
        ratio, cpu_ratio = cli[f"ratio_{name}"], cli[f"cpu_ratio_{name}"]
        row = f"| {label} | {med[name] * 1000:.0f} ms | {ratio:.2f} | {cpu[name] * 1000:.0f} ms | {cpu_ratio:.2f} |"
        if baseline:
            other = name + BASELINE
            row += f" {med[other] * 1000:.0f} ms | {cli[f'ratio_{other}']:.2f} |"
            row += f" {cpu[other] * 1000:.0f} ms | {cli[f'cpu_ratio_{other}']:.2f} |"
        verdict = f"≤ {TARGET_RATIO}× — {_verdict(ratio <= TARGET_RATIO)} (CPU: {_verdict(cpu_ratio <= TARGET_RATIO)})"
        lines.append(row + f" {verdict} |")
    hit = med["hit_imports"]
    lines += [
        "",
        "What a cache hit imports, and what the lazy imports keep out of it (`python -c`, same rounds):",
        "",
        "| imports | median | added to a hit |",
        "|---|---:|---:|",
        f"| what a hit imports: `generator.cli`, `generator.commands.spec`, `generator.cache` | {hit * 1000:.0f} ms | |",
        f"| the same and every command module (no `_LazyGroup`) | {med['hit_imports_eager_commands'] * 1000:.0f} ms | "
        f"{(med['hit_imports_eager_commands'] - hit) * 1000:+.0f} ms |",
        f"| the same and `load_spec`, `render` (a package `__init__` importing them up front) | "
        f"{med['hit_imports_eager_package'] * 1000:.0f} ms | {(med['hit_imports_eager_package'] - hit) * 1000:+.0f} ms |",
    ]
    lines += [
        "",
        f"Where one `sandbox check` spends its time (in-process, median of {cli['runs']} runs):",
        "",
        "| phase | ms |" + (" baseline ms |" if baseline else ""),
        "|---|---:|" + ("---:|" if baseline else ""),
    ]
    other_phases = dict(cli.get("baseline_phases_s", []))
    for name, seconds in cli["phases_s"]:
        row = f"| {name} | {seconds * 1000:.1f} |"
        if baseline:
            row += f" {other_phases[name] * 1000:.1f} |" if name in other_phases else " |"
        lines.append(row)
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
    problem_rows = result["problems"]["rows"]
    lines += [
        "",
        f"Reporting every problem at once (in-process `parse`, median of {result['problems']['runs']} runs; "
        "a 10-tool spec plus N unknown keys):",
        "",
        "| problems | total | per problem |",
        "|---:|---:|---:|",
        *(f"| {r['problems']:,} | {r['total_s']:.2f} s | {r['per_problem_ms']:.3f} ms |" for r in problem_rows),
        "",
        f"Per-problem time at {problem_rows[-1]['problems']:,} is "
        f"{problem_rows[-1]['per_problem_ms'] / problem_rows[0]['per_problem_ms']:.2f}× the time at "
        f"{problem_rows[0]['problems']:,} (1.0 = linear; 10 would be quadratic).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=REPO / "sandbox.yaml")
    parser.add_argument("--runs", type=int, default=15, help="fresh-interpreter runs per command (>= 10 for the report)")
    parser.add_argument("--sizes", default="10,100,1000", help="synthetic spec sizes (tools)")
    parser.add_argument("--scale-runs", type=int, default=5, help="in-process runs per synthetic size")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    parser.add_argument(
        "--baseline", type=Path, default=None, help="another checkout (with its .venv) whose sandbox is timed in the same rounds"
    )
    args = parser.parse_args(argv)
    baseline = args.baseline.resolve() if args.baseline else None
    result = measure(args.spec.resolve(), args.runs, [int(s) for s in args.sizes.split(",")], args.scale_runs, baseline)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(report(result), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

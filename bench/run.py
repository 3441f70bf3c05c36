"""Run the whole benchmark and print the report (markdown).

    exports=$(bash .ci/provision-docker.sh) && eval "$exports"   # or any engine with BuildKit; see bench/README.md
    .venv/bin/python bench/run.py      # full: >= 10 CLI runs, 3 build rounds
    .venv/bin/python bench/run.py --quick   # CI: 1 round, small; never fails on a timing
    .venv/bin/python bench/run.py --only build-paths   # one section (generator, dockerfile, build-paths, agent)

Raw results go to bench/results/ (gitignored). Exit status: 0 when the benchmark ran,
whatever the timings; 2 when the harness itself broke (or, without --quick, when there is
no Docker engine to build on).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import agent_bench  # noqa: E402
import build_paths  # noqa: E402
import dockerfile_bench  # noqa: E402
import generator_speed  # noqa: E402

RESULTS = HERE / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="generator speed + generated-vs-hand-written Dockerfile benchmark")
    parser.add_argument("--quick", action="store_true", help="CI mode: one round each, small; timings never fail it")
    parser.add_argument("--no-docker", action="store_true", help="only the generator speed part")
    parser.add_argument("--scenario", choices=("integration",), default="integration")
    parser.add_argument("--rounds", type=int, default=3, help="build rounds (ignored with --quick)")
    parser.add_argument("--runs", type=int, default=15, help="fresh-interpreter runs per CLI command")
    parser.add_argument("--only", action="append", choices=SECTIONS, default=[], help="run only this section (repeatable); default: all")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    progress = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    wanted = set(args.only or SECTIONS)
    sections: list[str] = []

    if "generator" in wanted:
        try:
            speed = generator_speed.measure(
                REPO_SPEC,
                runs=3 if args.quick else max(args.runs, 10),
                sizes=[10, 100] if args.quick else [10, 100, 1000],
                scale_runs=1 if args.quick else 5,
            )
        except Exception:  # noqa: BLE001 - report the harness failure, exit 2
            traceback.print_exc()
            return 2
        (RESULTS / f"generator_speed-{stamp}.json").write_text(json.dumps(speed, indent=2) + "\n", encoding="utf-8")
        sections += ["## Generator speed\n", generator_speed.report(speed)]

    if not args.no_docker and "dockerfile" in wanted:
        problem = dockerfile_bench.engine_available()
        if problem:
            sections += ["\n## Dockerfile benchmark\n", f"Skipped: no Docker engine ({problem}).\n"]
            if not args.quick:
                print("".join(sections))
                print(f"bench: no Docker engine: {problem}", file=sys.stderr)
                return 2
        else:
            try:
                result = dockerfile_bench.measure(1 if args.quick else args.rounds, args.scenario, progress, RESULTS)
            except dockerfile_bench.HarnessError as exc:
                print(f"bench: {exc}", file=sys.stderr)
                return 2
            (RESULTS / f"dockerfile_bench-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
            sections += ["\n## Generated vs hand-written Dockerfile\n", dockerfile_bench.report(result)]

    if not args.no_docker and "build-paths" in wanted:
        # each part says on its own line when its engine is missing; no part fails on a timing
        started = time.monotonic()
        try:
            paths = build_paths.measure(1 if args.quick else args.rounds, progress, RESULTS)
        except build_paths.HarnessError as exc:
            print("".join(sections), end="")
            print(f"bench: {exc}", file=sys.stderr)
            return 2
        paths["wall_s"] = time.monotonic() - started
        (RESULTS / f"build_paths-{stamp}.json").write_text(json.dumps(paths, indent=2) + "\n", encoding="utf-8")
        sections += ["\n## Build paths (issue 9)\n", build_paths.report(paths), f"\nThis section took {paths['wall_s'] / 60:.1f} min.\n"]
    if not args.no_docker and "agent" in wanted:
        result = agent_bench.measure(1 if args.quick else args.rounds, 3 if args.quick else 10)
        (RESULTS / f"agent_bench-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        sections += ["\n## The agent suite\n", agent_bench.report(result)]
    print("".join(sections), end="")
    return 0


REPO_SPEC = HERE.parent / "sandbox.yaml"
SECTIONS = ("generator", "dockerfile", "build-paths", "agent")

if __name__ == "__main__":
    raise SystemExit(main())

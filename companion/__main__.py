"""Command line: ``python -m companion bench | list | reproduce | verify``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import bench, store
from .experiments import REGISTRY
from .reproduce import parallel_wall_time, reproduce, verify


def status(name: str, root: Path) -> str:
    try:
        _, meta = store.load_result(name, REGISTRY[name].config_hash(), root)
    except FileNotFoundError:
        partial = list((root / "partial").glob(f"{name}.*.npz")) if (root / "partial").exists() else []
        return f"missing ({len(partial)} group(s) checkpointed)" if partial else "missing"
    except store.StaleResult:
        return "STALE"
    scale = "" if meta["paper_scale"] else f" (not paper scale: {meta['runs']} runs x {meta['length']})"
    return f"stored{scale}, {meta['wall_time_s'] / 60:.0f} min of compute"


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return int(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companion", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("bench", help="run-steps per second of every learner at several numbers of runs")
    b.add_argument("--runs", type=positive_int, nargs="+", default=[1, 10, 100], help="numbers of runs (default 1 10 100)")
    b.add_argument("--learners", nargs="+", default=list(bench.LEARNERS), choices=list(bench.LEARNERS))
    b.add_argument("--json", metavar="PATH", help="also write the rows and the machine as JSON")
    ls = commands.add_parser("list", help="the registry's experiments and what is stored")
    ls.add_argument("--root", type=Path, default=store.RESULTS, help="results folder (default: results/)")
    ls.add_argument("--jobs", type=positive_int, default=2, help="cores to estimate reproduce --all's wall time for (default 2)")
    r = commands.add_parser("reproduce", help="run experiments into the results store (resumable)")
    r.add_argument("names", nargs="*", help="experiment names (see list)")
    r.add_argument("--all", action="store_true", help="every experiment of the registry")
    r.add_argument("--runs", type=positive_int, help="override the number of runs (marks the result as not paper scale)")
    r.add_argument("--episodes", type=positive_int, help="override episodes (batches) per run (not paper scale)")
    r.add_argument("--jobs", type=positive_int, default=1, help="groups of runs to compute in parallel (default 1)")
    r.add_argument("--no-compile", action="store_true", help="do not compile the settling loop")
    r.add_argument("--root", type=Path, default=store.RESULTS, help="results folder (default: results/)")
    v = commands.add_parser("verify", help="check stored results against the registry and replay their beginnings")
    v.add_argument("names", nargs="*", help="experiment names (default: every stored result)")
    v.add_argument("--root", type=Path, default=store.RESULTS, help="results folder (default: results/)")
    args = parser.parse_args(argv)
    try:
        run(args)
    except (ValueError, FileNotFoundError, store.StaleResult) as err:  # bad input: a message, not a traceback
        print(f"python -m companion {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


def run(args) -> None:
    """Carry out one parsed command."""
    if args.command == "list":
        width = max(map(len, REGISTRY))
        for name, exp in REGISTRY.items():
            print(f"{name:{width}s} {exp.task:25s} {exp.method:29s} {exp.runs:3d} runs x {exp.episodes:6d}  "
                  f"{status(name, args.root)}")
        metas = [json.loads(meta.read_text()) for name in REGISTRY
                 if (meta := store.result_paths(name, args.root)[1]).exists()]
        groups = []  # seconds per group of runs (a result stores the sum over its groups)
        for m in metas:
            n = len(REGISTRY[m["name"]].groups(m["runs"]))
            groups += [m["wall_time_s"] / n] * n
        print(f"stored: {len(metas)} of {len(REGISTRY)} experiments, {sum(groups) / 3600:.1f} hours of compute "
              "(the sum of the measured wall times of their groups of runs); reproduce --all --jobs "
              f"{args.jobs} would take about {parallel_wall_time(groups, args.jobs) / 3600:.1f} hours to regenerate "
              "them (those group times handed out in registry order)")
    if args.command == "reproduce":
        names = list(REGISTRY) if args.all else args.names
        if not names:
            raise ValueError("reproduce needs experiment names or --all")
        for path in reproduce(names, args.runs, args.episodes, args.jobs, args.root, not args.no_compile):
            print(f"stored {path}")
    if args.command == "verify":
        names = args.names or [n for n in REGISTRY if store.result_paths(n, args.root)[1].exists()]
        for name in names:
            report = verify(name, args.root)
            print(f"{name}: config hash matches; {report['matching']:.0%} of {report['replayed']} replayed returns match")

    if args.command == "bench":
        rows = bench.run_bench(args.learners, args.runs)
        print(bench.format_table(rows))
        print(f"machine: {bench.machine()}; authors' MAP Propagation actor-critic: "
              f"{bench.AUTHORS_RUN_STEPS_PER_S:.0f} run-steps/s")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"machine": bench.machine(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())

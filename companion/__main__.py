"""Command line: ``python -m companion bench | list | reproduce | verify``."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from . import bench, store
from .experiments import REGISTRY
from .reproduce import (
    JOBS,
    MAX_EPISODES,
    MAX_JOBS,
    MAX_RUNS,
    Failed,
    check_names,
    parallel_wall_time,
    reproduce,
    verify,
)

COLUMNS = (("experiment", 41), ("task", 14), ("method", 28), ("runs x eps", 11))  # then the status


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block), exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def count(high: int):
    """An argparse type: a decimal integer from 1 to ``high``."""
    def parse(text: str) -> int:
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"must be an integer from 1 to {high:,}, got {text!r}")
        return int(text)
    return parse


def nonempty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must be a path, got {text!r}")
    return text


def writable_file(path: str) -> Path:
    """``path`` if a file can be written there: not a folder, in a folder this user can write."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"--json must be a file path, got {str(path)!r}, which is a folder")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".write-test.")
        os.close(fd)
        os.remove(tmp)
    except OSError as err:
        raise ValueError(f"--json must be a path in a folder this user can write, got {str(path)!r} ({err})") from None
    return path


def task_label(task: str) -> str:
    return task.replace("Continuous", "")


def status(name: str, root: Path) -> tuple:
    """``(text, meta)`` for the list: what is stored for ``name`` and its metadata if valid."""
    try:
        _, meta = store.load_result(name, REGISTRY[name].config_hash(), root)
    except FileNotFoundError:
        partial = list((root / "partial").glob(f"{name}.*.npz")) if (root / "partial").is_dir() else []
        return (f"missing, {len(partial)} groups kept" if partial else "missing"), None
    except store.StaleResult as err:
        return ("STALE" if "differs from the registry" in str(err) else "INVALID, see verify"), None
    minutes = f"{meta['wall_time_s'] / 60:.0f} min"
    return (f"stored, {minutes}" if meta["paper_scale"] else f"smaller, {minutes}"), meta


def print_list(root: Path, jobs: int) -> None:
    print(" ".join(f"{title:{width}s}" for title, width in COLUMNS) + " status")
    groups, valid = [], 0  # seconds per group of runs of the valid results (a result stores the sum)
    for name, exp in REGISTRY.items():
        text, meta = status(name, root)
        runs, episodes = (meta["runs"], meta["length"]) if meta else (exp.runs, exp.episodes)
        cells = (name, task_label(exp.task), exp.method, f"{runs} x {episodes}")
        print(" ".join(f"{c:{w}s}" for c, (_, w) in zip(cells, COLUMNS)) + f" {text}")
        if meta:
            valid += 1
            n = len(exp.groups(meta["runs"]))
            groups += [meta["wall_time_s"] / n] * n
    print(f"stored and valid: {valid} of {len(REGISTRY)} experiments, {sum(groups) / 3600:.1f} hours of compute "
          "(the sum of the measured wall times of their groups)")
    print(f"reproduce --all --jobs {jobs} would take about {parallel_wall_time(groups, jobs) / 3600:.1f} hours to "
          "regenerate them (those group times handed out in registry order)")


def verify_all(names, root: Path) -> int:
    """Verify every named result, report each, and return how many failed."""
    failed = 0
    for name in names:
        try:
            report = verify(name, root)
            print(f"{name}: config hash matches; {report['matching']:.0%} of {report['replayed']} replayed returns match")
        except (store.StaleResult, ValueError, FloatingPointError) as err:  # a replay may diverge too
            failed += 1
            print(f"{name}: FAILED: {err}")
    print(f"verified {len(names) - failed} of {len(names)} stored results" + (f"; {failed} FAILED" if failed else ""))
    return failed


def parser() -> Parser:
    p = Parser(prog="python -m companion", description=__doc__)
    root = Parser(add_help=False)
    root.add_argument("--root", type=nonempty, default=str(store.RESULTS), help="results folder (default: results/)")
    jobs = Parser(add_help=False)
    jobs.add_argument("--jobs", type=count(MAX_JOBS), default=JOBS,
                      help=f"worker processes, one group of runs each (default: the {JOBS} cores)")
    commands = p.add_subparsers(dest="command", required=True)
    b = commands.add_parser("bench", help="run-steps per second of every learner at several numbers of runs")
    b.add_argument("--runs", type=count(MAX_RUNS), nargs="+", default=[1, 10, 100], help="numbers of runs (default 1 10 100)")
    b.add_argument("--learners", nargs="+", default=list(bench.LEARNERS), choices=list(bench.LEARNERS))
    b.add_argument("--json", metavar="PATH", type=nonempty, help="also write the rows and the machine as JSON")
    commands.add_parser("list", parents=[root, jobs], help="the registry's experiments and what is stored")
    r = commands.add_parser("reproduce", parents=[root, jobs], help="run experiments into the results store (resumable)")
    r.add_argument("names", nargs="*", help="experiment names (see list)")
    r.add_argument("--all", action="store_true", help="every experiment of the registry")
    r.add_argument("--runs", type=count(MAX_RUNS), help="override the number of runs (marks the result as not paper scale)")
    r.add_argument("--episodes", type=count(MAX_EPISODES), help="override episodes (batches) per run (not paper scale)")
    r.add_argument("--force", action="store_true", help="compute again experiments already stored at this scale")
    r.add_argument("--no-compile", action="store_true", help="do not compile the settling loop")
    v = commands.add_parser("verify", parents=[root], help="check stored results and replay the beginning of every group")
    v.add_argument("names", nargs="*", help="experiment names (default: every stored result)")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    prog = f"python -m companion {args.command}"
    try:
        return run(args)
    except (ValueError, FileNotFoundError, store.StaleResult, store.Busy) as err:  # bad input: a message, no traceback
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except Failed as err:
        for message in err.failures:
            print(f"{prog}: failed: {message}", file=sys.stderr)
        print(f"{prog}: {len(err.failures)} group(s) failed; {len(err.paths)} result(s) stored", file=sys.stderr)
        return 1
    except BrokenPipeError:  # whoever read the output stopped reading (list | head): nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; {kept(args)}", file=sys.stderr)
        return 130


def kept(args) -> str:
    """What an interrupted command leaves behind, in words."""
    if args.command != "reproduce":
        return "nothing was written"
    partial = Path(args.root) / "partial"
    n = len(list(partial.glob("*.npz"))) if partial.is_dir() else 0
    return (f"stored results are kept and {n} finished group(s) are checkpointed in {partial}; "
            "run the same command again to resume")


def run(args) -> int:
    """Carry out one parsed command; returns the exit status."""
    if args.command == "bench":
        path = writable_file(args.json) if args.json else None
        rows = bench.run_bench(args.learners, args.runs)
        print(bench.format_table(rows))
        print(f"machine: {bench.machine()}; authors' MAP Propagation actor-critic: "
              f"{bench.AUTHORS_RUN_STEPS_PER_S:.0f} run-steps/s")
        if path:
            store.save_json(path, {"machine": bench.machine(), "rows": rows})
        return 0
    if args.command == "reproduce":
        if args.all and args.names:
            raise ValueError(f"give experiment names or --all, not both (got --all and {' '.join(args.names)})")
        if not args.all and not args.names:
            raise ValueError("reproduce needs experiment names or --all")
        names = list(REGISTRY) if args.all else args.names
        for path in reproduce(names, args.runs, args.episodes, args.jobs, args.root, not args.no_compile,
                              force=args.force):
            print(f"stored {path}")
        return 0
    root = store.check_root(args.root, write=False)
    if args.command == "list":
        print_list(root, args.jobs)
        return 0
    if args.names:
        names = check_names(args.names)
        for name in names:
            if not store.result_paths(name, root)[1].exists():
                raise FileNotFoundError(f"no stored result for {name!r} in {root}: run "
                                        f"`python -m companion reproduce {name}`")
    else:
        names = [n for n in REGISTRY if store.result_paths(n, root)[1].exists()]
        if not names:
            raise ValueError(f"--root {str(root)!r} holds no stored result to verify")
    return 1 if verify_all(names, root) else 0


if __name__ == "__main__":
    sys.exit(main())

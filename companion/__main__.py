"""Command line: ``python -m companion bench | list | reproduce | verify``."""
from __future__ import annotations

import argparse
import json
import sys

from . import bench


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companion", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("bench", help="run-steps per second of every learner at several numbers of runs")
    b.add_argument("--runs", type=int, nargs="+", default=[1, 10, 100], help="numbers of runs (default 1 10 100)")
    b.add_argument("--learners", nargs="+", default=list(bench.LEARNERS), choices=list(bench.LEARNERS))
    b.add_argument("--json", metavar="PATH", help="also write the rows and the machine as JSON")
    args = parser.parse_args(argv)

    if args.command == "bench":
        rows = bench.run_bench(args.learners, args.runs)
        print(bench.format_table(rows))
        print(f"machine: {bench.machine()}; authors' MAP Propagation actor-critic: "
              f"{bench.AUTHORS_RUN_STEPS_PER_S:.0f} run-steps/s")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"machine": bench.machine(), "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

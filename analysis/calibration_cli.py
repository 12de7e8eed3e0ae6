"""``commons-lab calibrate --out DIR``: search the values the paper leaves open (printed evidence)."""

from __future__ import annotations

import sys

HELP = "calibrate alpha, c, P(0), R_min and the learning rates so the rule-based model reproduces the human-study findings"


def add_arguments(parser) -> None:
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="folder for trials.csv (every value tried, with its scores) and "
                             "chosen.csv (created if missing)")
    parser.add_argument("--runs", type=int, default=30, metavar="N",
                        help="runs per condition of the reduced design (default 30)")
    parser.add_argument("--sweeps", type=int, default=2,
                        help="coordinate sweeps over all parameters at most (default 2)")
    parser.add_argument("--start", choices=("paper", "defaults"), default="paper",
                        help="start point: 'paper' (alpha = 0.05 and round values, default) or "
                             "the current defaults")
    parser.add_argument("--processes", type=int, default=None, metavar="P",
                        help="worker processes (default: all cores)")


def main(args) -> int:
    from pathlib import Path

    if args.runs < 4 or args.sweeps < 1:
        print("commons-lab: error: --runs must be at least 4 and --sweeps at least 1",
              file=sys.stderr)
        return 2
    from analysis.calibration import main_report

    return main_report(Path(args.out), runs=args.runs, sweeps=args.sweeps,
                       start=args.start, processes=args.processes)

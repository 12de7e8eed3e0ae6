"""``commons-lab calibrate --profile NAME``: search the values the paper leaves open for one
profile, by the pre-registered criteria in calibration/criteria.toml (resumes from its trials)."""

from __future__ import annotations


HELP = ("calibrate the values the paper leaves open (alpha, c, P(0), R_min, imitation rates, "
        "monitoring range) for one profile of the rule-based model")


def add_arguments(parser) -> None:
    parser.add_argument("--profile", choices=("paper", "extended"), default="paper",
                        help="profile of the rule-based model to calibrate (default paper)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="folder for trials.csv, best.toml and the figure (default "
                             "calibration/PROFILE); an existing trials.csv is resumed")
    parser.add_argument("--trials", type=int, default=None, metavar="N",
                        help="total trials (default: the criteria file's budget)")
    parser.add_argument("--processes", type=int, default=None, metavar="P",
                        help="worker processes (default: all cores)")


def main(args) -> int:
    from pathlib import Path

    from agents.errors import BadInputError
    from analysis.calibration import main_report

    if args.trials is not None and args.trials < 1:
        raise BadInputError("--trials must be at least 1")
    try:
        return main_report(args.profile, Path(args.out) if args.out else None,
                           trials=args.trials, processes=args.processes)
    except ValueError as err:  # a trial file from another search
        raise BadInputError(str(err)) from None

"""``commons-lab analyze DIR... --out REPORT``: the papers' figures and tables from run folders."""

from __future__ import annotations

HELP = "analyse run folders (found recursively) into an HTML + Markdown report with figures"


def add_arguments(parser) -> None:
    parser.add_argument("dirs", nargs="+", metavar="DIR",
                        help="folders searched recursively for run folders (manifest.json)")
    parser.add_argument("--out", required=True, metavar="REPORT",
                        help="report folder (report.html, report.md, figures/, tables/), "
                             "or a path ending in .html / .md")
    parser.add_argument("--alpha", type=float, default=0.05,
                        help="significance level of the Tukey HSD letters (default 0.05)")
    parser.add_argument("--model-key", default="auto", metavar="KEY",
                        help="dotted manifest path whose value is the 'model' factor, e.g. "
                             "config.norms.penalty (default: the villagers' LLM model)")
    parser.add_argument("--include-incomplete", action="store_true",
                        help="also use runs whose manifest status is not 'completed'")
    parser.add_argument("--title", help="report title")


def main(args) -> int:
    from pathlib import Path

    from agents.errors import BadInputError

    if not 0 < args.alpha < 1:
        raise BadInputError(f"--alpha {args.alpha} must lie between 0 and 1")
    missing = [d for d in args.dirs if not Path(d).is_dir()]
    if missing:
        raise BadInputError(f"not a directory: {missing[0]}")

    from analysis.report import build_report

    report = build_report(args.dirs, args.out, model_key=args.model_key, alpha=args.alpha,
                          include_incomplete=args.include_incomplete, title=args.title)
    runs = report.runs.runs
    print(f"analysed {len(runs)} runs "
          + "(" + ", ".join(f"{n} {s}" for s, n in runs["scenario"].value_counts().items()) + ")"
          + f" in {report.timings['total']:.1f} s")
    for name, path in report.figures.items():
        print(f"figure  {name:<24} {path}")
    if report.runs.skipped:
        print(f"skipped {len(report.runs.skipped)} run folders (see the report's notes)")
    print(f"report  {report.html}")
    print(f"        {report.markdown}")
    return 0

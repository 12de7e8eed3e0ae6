"""``commons-lab export-govsim RUN_DIR``: a GovSim run in the layout of GovSim's analysis app."""

from __future__ import annotations

HELP = "export a GovSim run folder as log_env.json for GovSim's analysis app"


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a GovSim run folder (from commons-lab run)")
    parser.add_argument("--out", default=None,
                        help="results root to write into (default RUN_DIR/govsim-results)")
    parser.add_argument("--subset", default=None,
                        help="results subset (default <scenario>_commons-lab_final; a name with "
                             "'final' is read offline by the app)")
    parser.add_argument("--group", default=None, help="run group (default the config's name)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier export")


def main(args) -> int:
    from pathlib import Path

    from model.govsim.export import export_run

    out = Path(args.out) if args.out else Path(args.run_dir) / "govsim-results"
    target = export_run(args.run_dir, out, subset=args.subset, group=args.group,
                        overwrite=args.overwrite)
    print(f"wrote {target / 'log_env.json'}")
    subset = target.parent.parent
    print(f"open it with GovSim's app: copy the folder {subset} into simulation/results/ "
          f"(making simulation/results/{subset.name}/) and browse to /{subset.name}")
    return 0

"""The ``commons-lab`` command line: run, sweep, validate, analyse, serve, show.

Every subcommand answers ``--help``. Errors are ``agents.errors.LabError``s; ``main`` alone turns
one into a line on stderr and its exit status (2 for bad input, 3 for a server that cannot be
used), and a command that fails that way writes nothing.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import signal
import sys
from datetime import datetime
from pathlib import Path

EXIT_INTERRUPTED = 130

EXTRA_COMMANDS = {
    "serve": "agents.llm.embedded.command",
    "sweep": "model.sweep.cli",
    "validate": "analysis.validation_cli",
    "calibrate": "analysis.calibration_cli",
    "analyze": "analysis.report_cli",
    "estimate": "analysis.estimate_cli",
    "export-govsim": "model.govsim.export_cli",
    "ui": "viz.ui_cli",
}


def _config_from_args(args):
    from model.config import load_config, parse_override

    overrides = dict(parse_override(item) for item in args.set or [])
    if getattr(args, "seed", None) is not None:
        overrides["seed"] = args.seed
    return load_config(args.config, overrides)


def _default_out(config) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("out") / config.name / f"seed{config.seed}-{stamp}"


def _human_ids(items: list[str] | None) -> list[int]:
    """``--human 3 --human 1,4`` as villager ids."""
    from model.config import ConfigError

    ids = []
    for item in items or []:
        for part in item.split(","):
            part = part.strip()
            if not part.isdigit():
                raise ConfigError(f"--human {item!r} must be villager ids, e.g. --human 3 or "
                                  "--human 1,3")
            ids.append(int(part))
    return ids


def cmd_run(args) -> int:
    from model.config import apply_overrides
    from model.runner import run

    config = _config_from_args(args)
    if args.csv:
        config = apply_overrides(config, {"output.format": "both"})
    added = [i for i in _human_ids(args.human) if i not in config.villagers.human]
    if added:
        config = apply_overrides(config, {"villagers.human": [*config.villagers.human, *added]})
    out = Path(args.out) if args.out else _default_out(config)
    desk = None
    # A strict replay serves the recorded human answers with nobody asked, unless --human asks
    # for a person here (villagers of a scripted LLM society, say).
    if config.humans and (added or args.human or config.llm.backend != "replay"):
        from agents.human.desk import HumanDesk
        from agents.human.terminal import TerminalFrontEnd

        desk = HumanDesk()
        TerminalFrontEnd(desk).start()
    try:
        summary = run(config, out, resume=args.resume, overwrite=args.overwrite,
                      progress=not args.quiet and desk is None, desk=desk)
    finally:
        if desk is not None:
            desk.close()
    _print_summary(summary, out)
    return 0


def _print_summary(summary: dict, out: Path) -> None:
    print(f"survival time:   {summary.get('survival_time')} rounds"
          f" (end: {summary.get('collapse_reason') or 'round cap'})")
    eff = summary.get("mean_efficiency")
    if eff is not None:
        print(f"mean efficiency: {eff:.3f}")
    if summary.get("human_turns"):
        print(f"human turns:     {summary['human_turns']} "
              f"({summary.get('human_timeouts', 0)} timed out)")
    if summary.get("llm_calls"):
        print(f"LLM calls:       {summary['llm_calls']} "
              f"({summary.get('llm_fallbacks', 0)} fallbacks, {summary.get('llm_retries', 0)} retries)")
    print(f"output folder:   {out}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="commons-lab", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run one simulation from a TOML config")
    p.add_argument("config", help="a run config, e.g. runs/demo.toml")
    p.add_argument("--seed", type=int, help="override the config's seed")
    p.add_argument("--out", help="output folder (default out/<name>/seed<seed>-<time>)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config value, e.g. --set norms.penalty=14 (repeatable)")
    p.add_argument("--csv", action="store_true", help="write CSV tables beside the Parquet ones")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--human", action="append", metavar="ID",
                   help="villager ID's turns are asked here, on the command line (repeatable or "
                        "a comma list; adds to the config's villagers.human)")
    p.set_defaults(func=cmd_run)

    # Subcommands that live beside the code they drive. Each module defines HELP,
    # add_arguments(parser) and main(args) -> int, and keeps heavy imports inside main.
    for name, module_name in EXTRA_COMMANDS.items():
        try:
            if importlib.util.find_spec(module_name) is None:
                continue
        except ModuleNotFoundError:  # its package is not part of this installation
            continue
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(func=module.main)

    return parser


def main(argv: list[str] | None = None) -> int:
    from agents.errors import LabError

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    # SIGTERM (a scheduler, `kill`) stops a run the way Ctrl-C does: the current table write
    # finishes and the run is marked interrupted, ready to resume.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return args.func(args)
    except LabError as err:
        print(f"commons-lab: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("commons-lab: interrupted; what was collected is on disk (resume with --resume)",
              file=sys.stderr)
        return EXIT_INTERRUPTED


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())

"""``commons-lab estimate CONFIG_OR_SWEEP``: calls, tokens and time of LLM runs, before they run."""

from __future__ import annotations

HELP = ("estimate the LLM calls, prompt and answer tokens and time of a run config or sweep "
        "(no server needed)")


def add_arguments(parser) -> None:
    parser.add_argument("path", metavar="CONFIG_OR_SWEEP", help="a run config or a sweep file")
    parser.add_argument("--logs", metavar="DIR",
                        help="folder searched for calls.jsonl of earlier runs: their retries, "
                             "answer tokens, survival and latencies per model")
    parser.add_argument("--survival", type=float, metavar="ROUNDS",
                        help="rounds a run lasts (default: what the logged runs of the model "
                             "survived, as a share of the cap; without logs, the cap)")


def _count(x: float) -> str:
    for div, unit in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if x >= div:
            return f"{x / div:.2f}{unit}"
    return f"{x:.0f}"


def _time(seconds: float | None) -> str:
    if seconds is None:
        return "no log"
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds:.0f} s"


def main(args) -> int:
    from pathlib import Path

    from agents.errors import BadInputError
    from analysis.estimate import Cost, estimate
    from analysis.token_count import counter_name

    if args.logs and not Path(args.logs).is_dir():
        raise BadInputError(f"--logs {args.logs}: not a directory")
    if args.survival is not None and args.survival <= 0:
        raise BadInputError(f"--survival {args.survival} must be a positive number of rounds")
    costs = estimate(args.path, args.logs, survival=args.survival)
    total = Cost("total")
    header = f"{'model':<28}{'runs':>6}{'rounds':>9}{'calls':>10}{'prompt tok':>12}" \
             f"{'answer tok':>12}{'time (serial)':>15}"
    print(header)
    for cost in costs.values():
        total.add(cost)
        print(f"{cost.model:<28}{cost.runs:>6}{cost.rounds:>9.0f}{_count(cost.calls):>10}"
              f"{_count(cost.prompt_tokens):>12}{_count(cost.answer_tokens):>12}"
              f"{_time(cost.seconds):>15}")
    if len(costs) > 1:
        print(f"{'total':<28}{total.runs:>6}{total.rounds:>9.0f}{_count(total.calls):>10}"
              f"{_count(total.prompt_tokens):>12}{_count(total.answer_tokens):>12}"
              f"{_time(total.seconds):>15}")
    print(f"tokens counted with the {counter_name()}; {int(total.embed_calls)} embedding calls "
          f"besides; time is one call after another (divide by the parallel slots)")
    return 0

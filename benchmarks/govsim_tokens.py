"""Prompt and answer tokens per villager-month of a GovSim run, beside GovSim's published cost.

Runs a GovSim config (default: runs/govsim-fishery-demo.toml on the embedded SmolLM2-135M) into
a temporary folder, or reads an existing run folder with --run, and prints tokens per
villager-month by phase. Piatti et al. report about 680k input and 124k output tokens for a
12-month, 5-villager run (11.3k / 2.1k per villager-month); Curvo et al. estimate 40k / 10k per
month for five agents (8k / 2k per villager-month). Because a run's discussion length varies,
the script also projects the figure to GovSim's full discussion (9 utterances a month) from the
measured mean tokens per utterance.

    .venv/bin/python benchmarks/govsim_tokens.py [CONFIG] [--set KEY=VALUE ...] [--run RUN_DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PUBLISHED = {  # per villager-month
    "Piatti et al. 2024 (680k in / 124k out per 12-month, 5-villager run)": (680_000 / 60, 124_000 / 60),
    "Curvo et al. 2025 (~40k in / 10k out per month, 5 agents)": (40_000 / 5, 10_000 / 5),
}
GOVSIM_UTTERANCES = 9


def measure(config_path: str, overrides: list[str], run_dir: str | None) -> tuple[dict, dict]:
    from model.config import load_config, parse_override
    from model.runner import run

    if run_dir:
        folder = Path(run_dir)
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        return summary, manifest["config"]
    config = load_config(config_path, dict(parse_override(o) for o in overrides))
    with tempfile.TemporaryDirectory() as tmp:
        summary = run(config, Path(tmp) / "run", progress=False)
    return summary, config.to_dict()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default=str(ROOT / "runs" / "govsim-fishery-demo.toml"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--run", help="read an existing GovSim run folder instead of running")
    args = parser.parse_args(argv)

    summary, config = measure(args.config, args.set, args.run)
    phases = summary.get("llm_per_phase", {})
    months = summary["rounds_run"]
    villager_months = summary["villager_months"]
    g = config["govsim"]
    print(f"GovSim {g['variant']} ({g['language']}), {months} month(s), "
          f"{len(summary['villagers'])} villagers, "
          f"models {sorted({v['model'] for v in summary['villagers']})}, "
          f"max {g['max_utterances']} utterances/month; {summary['llm_calls']} chat calls "
          f"({summary['llm_fallbacks']} fallbacks), {summary['llm_embed_calls']} embedding calls")
    print(f"{'phase':<12}{'decisions':>10}{'prompt tok':>12}{'answer tok':>12}"
          f"{'prompt/vm':>11}{'answer/vm':>11}")
    for name, s in phases.items():
        if not s["decisions"]:
            continue
        print(f"{name:<12}{s['decisions']:>10}{s['prompt_tokens']:>12}{s['answer_tokens']:>12}"
              f"{s['prompt_tokens'] / villager_months:>11.0f}{s['answer_tokens'] / villager_months:>11.0f}")
    per = summary["tokens_per_villager_month"]
    print(f"{'measured':<12}{'':>10}{summary['llm_prompt_tokens']:>12}{summary['llm_answer_tokens']:>12}"
          f"{per['prompt']:>11.0f}{per['answer']:>11.0f}   per villager-month ({villager_months})")

    # Projection to GovSim's discussion length: 9 utterances a month instead of the measured mean.
    utt = phases.get("utterance", {})
    if utt.get("decisions"):
        n = villager_months / months  # villagers per month
        talk_now = utt["decisions"] / months
        extra = (GOVSIM_UTTERANCES - talk_now) * months
        p = per["prompt"] + extra * utt["prompt_tokens"] / utt["decisions"] / (n * months)
        a = per["answer"] + extra * utt["answer_tokens"] / utt["decisions"] / (n * months)
        print(f"{'projected':<12}{'':>10}{'':>12}{'':>12}{p:>11.0f}{a:>11.0f}"
              f"   with {GOVSIM_UTTERANCES} utterances/month (measured {talk_now:.1f})")
    for label, (p, a) in PUBLISHED.items():
        print(f"{'published':<12}{'':>10}{'':>12}{'':>12}{p:>11.0f}{a:>11.0f}   {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

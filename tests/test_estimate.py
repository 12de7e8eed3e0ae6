"""``commons-lab estimate``: costs from prompts built offline and from earlier call logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.llm.call_log import read_calls
from analysis.estimate import estimate_run, probe, read_history
from cli import main as cli_main
from model.config import load_config

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "runs" / "demo-llm.toml"


def test_estimate_prints_per_model_and_in_total_without_a_server(tmp_path, capsys):
    sweep = tmp_path / "two-models.toml"
    sweep.write_text(f'''name = "two-models"
base = "{DEMO}"
seeds = [1, 2]
[set]
rounds = 3
"norms.n_agents" = 2
"llm.backend" = "ollama"
"llm.host" = "http://127.0.0.1:9"
[[variants]]
label = "a"
"llm.model" = "alpha:1b"
[[variants]]
label = "b"
"llm.model" = "beta:2b"
"llm.protocol" = "paper"
''', encoding="utf-8")
    assert cli_main(["estimate", str(sweep)]) == 0  # port 9 answers nothing: no server used
    out = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in out[1:4]}
    assert set(rows) == {"alpha:1b", "beta:2b", "total"}
    # 2 seeds x 3 rounds x 2 villagers x 4 decisions (the stand-in's proposals differ: a vote).
    assert rows["alpha:1b"][1:4] == ["2", "6", "48"] and rows["total"][1:4] == ["4", "12", "96"]
    assert "SmolLM2-135M tokenizer" in out[-1]


def test_free_text_prompts_cost_less_than_the_schemas_extras():
    config = load_config(DEMO, {"rounds": 6})
    schema = sum(r.prompt_tokens for r in probe(config))
    paper = sum(r.prompt_tokens for r in probe(config.replace(**{"llm.protocol": "paper"})))
    assert 0 < paper < schema  # no capacity, stock history or catch in the paper's observation


@pytest.mark.llm
def test_estimate_is_within_a_quarter_of_a_real_runs_prompt_tokens(llm_demo_run):
    live, shortened = llm_demo_run
    overrides = dict(item.split("=", 1) for item in shortened[1::2])
    config = load_config(DEMO, {k: int(v) for k, v in overrides.items()})
    real = sum(r["prompt_tokens"] for r in read_calls(live / "calls.jsonl") if r["kind"] == "chat")
    from_logs = estimate_run(config, read_history(live)).prompt_tokens
    at_cap = estimate_run(config).prompt_tokens
    summary = json.loads((live / "summary.json").read_text())
    print(f"\nestimate of the demo run ({summary['rounds_run']} rounds): real {real} prompt "
          f"tokens; estimated {from_logs:.0f} with its log, {at_cap:.0f} from the plan alone")
    assert abs(from_logs - real) <= 0.25 * real

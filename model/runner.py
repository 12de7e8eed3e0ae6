"""Run one configured simulation into its output folder.

The folder gets the tidy tables, ``summary.json`` and ``manifest.json``; LLM runs also get the
call log ``calls.jsonl``. LLM runs save their tables after every round, so an interrupted run
leaves what it collected on disk; ``resume=True`` continues it from the call log without
repeating a recorded call.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

from model.config import ConfigError, RunConfig
from model.llm_session import open_run, uses_llm
from model.run_folder import CALL_LOG, COMPLETED, RunFolder, new_manifest


def build_model(config: RunConfig, **kwargs: Any):
    """The Mesa model of ``config.scenario``."""
    if config.scenario == "govsim":
        from model.govsim.model import GovSimModel

        return GovSimModel(config, **kwargs)
    from model.norms.model import NormsModel

    return NormsModel(config, **kwargs)


def run(config: RunConfig, out_dir: str | Path, *, resume: bool = False, overwrite: bool = False,
        progress: bool = True, on_round: Callable[[Any], None] | None = None,
        desk=None) -> dict:
    """Run ``config`` to its end, writing everything into ``out_dir``; return the summary.

    ``desk``: where the human villagers' turns wait for a person (``agents.human.desk``); the
    terminal front-end or the page answers there."""
    folder = RunFolder(out_dir, resume=resume, overwrite=overwrite)
    changes = {}
    if resume and folder.previous:
        config, changes = _resumable(config, folder)
        if folder.previous.get("status") == COMPLETED:
            return folder.previous.get("summary", {})
    manifest = new_manifest(config)
    if folder.previous:
        manifest["resumed_from"] = folder.previous.get("started")
        if changes:
            manifest["resumed_with"] = {k: new for k, (_, new) in changes.items()}
    fmt = config.output.format
    status = "failed"
    model = None
    started = False
    try:
        with open_run(config, call_log=folder.file(CALL_LOG), resume=resume,
                      before_first_call=folder.create, desk=desk) as session:
            folder.write_manifest(manifest)
            started = True
            kwargs = {"llm_client": session.llm} if session.llm is not None else {}
            if session.humans is not None:
                kwargs["humans"] = session.humans
            model = build_model(config, **kwargs)
            if uses_llm(config) or config.humans:
                # Each LLM or human round costs seconds: keep what was collected on disk.
                model.on_round_end(lambda m: folder.write_tables(m.tables(), fmt))
            if on_round is not None:
                model.on_round_end(on_round)
            bar = _progress(config.name, model.max_rounds, progress)
            while model.running:
                model.step()
                bar.update(1)
                bar.set_postfix_str(_postfix(model), refresh=False)
            bar.close()
        status = "completed"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        # Nothing is written for a run that never started (the error says why).
        if started:
            summary = folder.finish(manifest, status, model, fmt)
    return summary


# What a resume may change: where the model is served (a sweep moves a run off a server that
# died), where stored answers are kept (they are the same answers), whether a server it
# starts caches prompts (recorded answers are served all the same) and the table format.
# Everything else must be the recorded run's.
RESUME_MAY_CHANGE = ("llm.host", "llm.base_url", "llm.cache", "llm.prefix_cache",
                     "output.format")


def _resumable(config: RunConfig, folder: RunFolder) -> tuple[RunConfig, dict]:
    """The recorded run's config with only the changes a resume may make, or ConfigError."""
    from model.config import build, differences

    recorded = build(RunConfig, folder.previous["config"])
    changed = differences(recorded, config)
    refused = {k: v for k, v in changed.items() if k not in RESUME_MAY_CHANGE}
    if refused:
        key, (old, new) = next(iter(refused.items()))
        more = f" and {len(refused) - 1} more" if len(refused) > 1 else ""
        raise ConfigError(
            f"--resume: {key} = {new!r} differs from the recorded run's {old!r}{more} in "
            f"{folder.path}; resume with the recorded config and seed, or start a new run "
            "with another --out")
    allowed = {k: new for k, (_, new) in changed.items()}
    return (recorded.replace(**allowed) if allowed else recorded), changed


def _progress(name: str, total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="round", desc=name, leave=False,
                disable=not enabled or not sys.stderr.isatty(), file=sys.stderr)


def _postfix(model) -> str:
    stock = getattr(getattr(model, "lake", None), "stock", None)
    return f"stock={stock:.1f}" if stock is not None else ""

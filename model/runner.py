"""Run one configured simulation into its output folder.

The folder gets the tidy tables, ``summary.json`` and ``manifest.json``; LLM runs also get the
call log ``calls.jsonl``. LLM runs save their tables after every round, so an interrupted run
leaves what it collected on disk; ``resume=True`` continues it from the call log without
repeating a recorded call.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, Callable

from model.config import ConfigError, RunConfig
from model.run_folder import RunFolder, new_manifest

CALL_LOG = "calls.jsonl"


def build_model(config: RunConfig, **kwargs: Any):
    """The Mesa model of ``config.scenario``."""
    if config.scenario == "govsim":
        from model.govsim.govsim_model import GovSimModel

        return GovSimModel(config, **kwargs)
    from model.commons_model import CommonsModel

    return CommonsModel(config, **kwargs)


def uses_llm(config: RunConfig) -> bool:
    return config.scenario == "govsim" or config.policy == "llm"


@contextlib.contextmanager
def llm_session(config: RunConfig, folder: RunFolder | None, *, resume: bool):
    """An LLM client for the run (or None): host chosen, models checked, calls recorded.

    Backend "replay" serves ``llm.replay_log`` (default: the run folder's own call log) with no
    server; ``resume`` serves the calls already in the folder's log and asks the server only
    for the missing ones.
    """
    if not uses_llm(config):
        yield None
        return
    from agents.llm.call_log import CallLog
    from agents.llm.client import LLMClient
    from agents.llm.host import open_llm_host
    from agents.llm.replay import ReplaySource
    from agents.llm.session import models_of

    log_path = folder.file(CALL_LOG) if folder else None
    replay = None
    if config.llm.backend == "replay":
        source = config.llm.replay_log or log_path
        if source is None:
            raise ConfigError("llm.backend = \"replay\" needs llm.replay_log (a calls.jsonl)")
        replay = ReplaySource.from_file(source, strict=True)
    elif resume and log_path is not None and log_path.exists():
        replay = ReplaySource.from_file(log_path, strict=False)
    with open_llm_host(config.llm) as host:
        if replay is None or not replay.strict:
            # Check every model (villagers' and embedding) before the run folder exists:
            # a model that is not pulled leaves nothing behind.
            with LLMClient(config.llm, host=host, seed=config.seed) as probe:
                probe.check_models(models_of(config.llm))
        if folder is not None:
            folder.create()
        call_log = CallLog(log_path) if log_path is not None else None
        client = LLMClient(config.llm, host=host, seed=config.seed, call_log=call_log, replay=replay)
        try:
            yield client
        finally:
            client.close()
            if call_log is not None:
                call_log.close()


def run(config: RunConfig, out_dir: str | Path, *, resume: bool = False, overwrite: bool = False,
        progress: bool = True, on_round: Callable[[Any], None] | None = None) -> dict:
    """Run ``config`` to its end, writing everything into ``out_dir``; return the summary."""
    folder = RunFolder(out_dir, resume=resume, overwrite=overwrite)
    if resume and folder.previous and folder.previous.get("status") == "completed":
        return folder.previous.get("summary", {})
    if resume and folder.previous:
        # A resumed run must be the same run: same config, same seed. Only where the model is
        # served may change (a sweep moves a run off a server that died).
        from model.config import build
        served = {"llm.host": config.llm.host, "llm.base_url": config.llm.base_url}
        config = build(RunConfig, folder.previous["config"]).replace(**served)
    manifest = new_manifest(config)
    if folder.previous:
        manifest["resumed_from"] = folder.previous.get("started")
    fmt = config.output.format
    status = "failed"
    model = None
    started = False
    try:
        with llm_session(config, folder, resume=resume) as client:
            folder.create()
            folder.write_manifest(manifest)
            started = True
            kwargs = {"llm_client": client} if client is not None else {}
            model = build_model(config, **kwargs)
            if uses_llm(config):
                # Each LLM round costs seconds: keep what was collected on disk as it comes.
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


def _progress(name: str, total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="round", desc=name, leave=False,
                disable=not enabled or not sys.stderr.isatty(), file=sys.stderr)


def _postfix(model) -> str:
    stock = getattr(getattr(model, "lake", None), "stock", None)
    return f"stock={stock:.1f}" if stock is not None else ""

"""Everything a run needs to talk to a model, opened and closed together."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from agents.llm.call_log import CallLog
from agents.llm.client import LLMClient
from agents.llm.host import open_llm_host
from agents.llm.replay import ReplaySource
from model.config import LLMConfig

CALL_LOG_NAME = "calls.jsonl"


def models_of(config: LLMConfig, *, embeddings: bool = True) -> list[str]:
    """Every model a run may call: the villagers' models (and the embedding model)."""
    names = list(config.models) or [config.model]
    if embeddings:
        names.append(config.embedding_model)
    return list(dict.fromkeys(names))


@contextlib.contextmanager
def open_llm(
    config: LLMConfig,
    *,
    run_dir: str | Path,
    seed: int,
    resume: bool = False,
    models: Iterable[str] | None = None,
) -> Iterator[LLMClient]:
    """A checked ``LLMClient`` recording to ``run_dir/calls.jsonl``.

    The server comes from ``open_llm_host`` (configured Ollama, or the embedded one, stopped on
    exit). ``resume``: answers already in the run's call log are served from it and only the
    missing calls go to the server. Backend "replay": answers come from ``config.replay_log``
    (default: the run's own log) and no server is started.
    """
    log_path = Path(run_dir) / CALL_LOG_NAME
    replay = None
    if config.backend == "replay":
        source = Path(config.replay_log) if config.replay_log else log_path
        replay = ReplaySource.from_file(source, strict=True)
    elif resume and log_path.exists():
        replay = ReplaySource.from_file(log_path, strict=False)
    with (
        open_llm_host(config) as url,
        CallLog(log_path) as call_log,
        LLMClient(config, host=url, seed=seed, call_log=call_log, replay=replay) as client,
    ):
        client.check_models(models_of(config) if models is None else models)
        yield client

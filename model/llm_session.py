"""The one way a run reaches its language model, for the command line, sweeps and the page.

``open_session`` resolves the server once (a configured Ollama or OpenAI-compatible endpoint,
else the embedded server), checks every model the scenario will call before the first round
(the villagers' models and the embedding model: the norms villagers' norm similarity and
GovSim's memory relevance both embed text), then opens the call log and yields the client. A
model that is not pulled therefore fails the run at its start, before anything is written.
Embeddings may have a server of their own (``llm.embedding_backend``): by default the decisions'
server when it serves the embedding model, else the built-in all-MiniLM server, so decisions
can go to an API that has no embeddings endpoint.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from model.config import ConfigError, RunConfig

if TYPE_CHECKING:  # imported when a session opens: a rule-based run needs no HTTP client
    from agents.human.answers import HumanAnswers
    from agents.human.desk import HumanDesk
    from agents.llm.call_log import CallLog
    from agents.llm.client import LLMClient
    from agents.llm.replay import ReplaySource


def uses_llm(config: RunConfig) -> bool:
    """GovSim villagers always talk; norms villagers only under the LLM policy."""
    return config.scenario == "govsim" or config.policy == "llm"


def decision_models(config: RunConfig) -> list[str]:
    """The villagers' models, each once (``llm.models`` is cycled over the villagers)."""
    llm = config.llm
    return list(dict.fromkeys(llm.models or (llm.model,)))


def _serves(client: LLMClient, model: str) -> bool:
    from agents.llm.errors import LLMSetupError

    try:
        client.check_models([model])
    except LLMSetupError:
        return False
    return True


def _embedding_server(config: RunConfig, probe: LLMClient, stack: contextlib.ExitStack):
    """The client embedding calls go through, or None for the decisions' own server."""
    import dataclasses

    from agents.llm.client import LLMClient
    from agents.llm.host import open_llm_host

    llm = config.llm
    kind = llm.embedding_backend
    if kind == "same" or (kind == "embedded" and llm.backend == "embedded"):
        return None
    if kind == "auto" and _serves(probe, llm.embedding_model):
        return None
    if kind in ("auto", "embedded"):
        settings = dataclasses.replace(llm, backend="embedded", host=None)
    else:
        settings = dataclasses.replace(llm, backend=kind, host=llm.embedding_host or llm.host,
                                       base_url=llm.embedding_host or llm.base_url)
    url = stack.enter_context(open_llm_host(settings))
    client = stack.enter_context(LLMClient(settings, host=url, seed=config.seed))
    client.check_models([llm.embedding_model])
    return client


def _replay_source(config: RunConfig, call_log: Path | None, resume: bool) -> ReplaySource | None:
    """Backend "replay" serves ``llm.replay_log`` (default: the run's own log) with no server;
    a resume serves the calls already in the run's log and asks the server for the rest."""
    from agents.llm.replay import ReplaySource

    if config.llm.backend == "replay":
        source = config.llm.replay_log or call_log
        if source is None:
            raise ConfigError('llm.backend = "replay" needs llm.replay_log (a calls.jsonl)')
        return ReplaySource.from_file(source, strict=True)
    if resume and call_log is not None and call_log.exists():
        return ReplaySource.from_file(call_log, strict=False)
    return None


@contextlib.contextmanager
def open_session(config: RunConfig, *, call_log: Path | None = None, resume: bool = False,
                 host: str | None = None,
                 before_first_call: Callable[[], None] | None = None) -> Iterator[LLMClient | None]:
    """An LLM client for one run of ``config`` (None for a run without LLM villagers).

    ``call_log``: where every call is recorded (None: not recorded). ``host``: a server the
    caller keeps open across runs (the page); by default one is opened for this run and closed
    after it. ``before_first_call`` runs once the models are checked and before the call log is
    opened: the runner creates the run folder there, so a failed check leaves nothing behind.
    """
    with _open(config, call_log=call_log, resume=resume, host=host,
               before_first_call=before_first_call) as (client, _):
        yield client


@dataclass
class RunSession:
    """What a run's villagers decide through: the LLM client (None without LLM villagers) and
    the human villagers' answers (None without human villagers)."""

    llm: LLMClient | None
    humans: HumanAnswers | None


@contextlib.contextmanager
def open_run(config: RunConfig, *, call_log: Path | None = None, resume: bool = False,
             host: str | None = None, before_first_call: Callable[[], None] | None = None,
             desk: HumanDesk | None = None) -> Iterator[RunSession]:
    """``open_session`` and, for a run with human villagers, their answers: asked at ``desk``
    (None: nobody is there, only recorded answers can be served) and recorded in the same call
    log. Recorded human answers are served from ``llm.replay_log`` (backend "replay") or, on
    resume, from the run's own log; asked again only when missing."""
    with _open(config, call_log=call_log, resume=resume, host=host,
               before_first_call=before_first_call, keep_log=bool(config.humans)) as (client, log):
        humans = None
        if config.humans:
            humans = _human_answers(config, call_log, resume, desk, log)
        yield RunSession(client, humans)


def _human_answers(config: RunConfig, call_log: Path | None, resume: bool,
                   desk: HumanDesk | None, log) -> HumanAnswers:
    from agents.human.answers import HumanAnswers
    from agents.llm.call_log import read_calls

    source: Path | None = None
    if config.llm.backend == "replay":
        source = Path(config.llm.replay_log) if config.llm.replay_log else call_log
    elif resume and call_log is not None and call_log.exists():
        source = call_log
    records = read_calls(source) if source is not None and source.exists() else []
    same_file = (source is not None and call_log is not None and source.exists()
                 and call_log.exists() and source.resolve() == call_log.resolve())
    return HumanAnswers(config.humans, desk=desk, call_log=log, recorded=records,
                        # A strict replay with nobody at the desk serves recorded answers only.
                        strict=config.llm.backend == "replay" and desk is None,
                        relog=not same_file, timeout_s=config.villagers.human_timeout_s,
                        source=str(source) if source is not None else "the call log")


@contextlib.contextmanager
def _open(config: RunConfig, *, call_log: Path | None, resume: bool, host: str | None,
          before_first_call: Callable[[], None] | None,
          keep_log: bool = False) -> Iterator[tuple[LLMClient | None, CallLog | None]]:
    """The LLM client and the call log it writes (``keep_log``: opened even for a run without
    LLM villagers, whose human villagers' answers are recorded there)."""
    if not uses_llm(config):
        if before_first_call is not None:
            before_first_call()
        if keep_log and call_log is not None:
            from agents.llm.call_log import CallLog

            with CallLog(call_log) as log:
                yield None, log
        else:
            yield None, None
        return
    from agents.llm.call_log import CallLog
    from agents.llm.client import LLMClient
    from agents.llm.host import open_llm_host

    replay = _replay_source(config, call_log, resume)
    with contextlib.ExitStack() as stack:
        url = host if host is not None else stack.enter_context(open_llm_host(config.llm))
        embedder = None
        if replay is None or not replay.strict:
            with LLMClient(config.llm, host=url, seed=config.seed) as probe:
                probe.check_models(decision_models(config))
                embedder = _embedding_server(config, probe, stack)
                if embedder is None:
                    probe.check_models([config.llm.embedding_model])
        if before_first_call is not None:
            before_first_call()
        log = stack.enter_context(CallLog(call_log)) if call_log is not None else None
        client = stack.enter_context(
            LLMClient(config.llm, host=url, seed=config.seed, call_log=log, replay=replay))
        client.embed_via = embedder
        yield client, log

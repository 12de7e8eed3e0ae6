"""The LLM decisions of GovSim villagers: harvest, utterance, reflection, and the framework's
summary and limit extraction.

Each decision is one call through ``LLMClient`` with a bounded JSON schema and a free-text
fallback parser (English or Japanese, full-width characters accepted). Memories are retrieved
with embeddings from the client's embedding endpoint: one ``embed`` call per retrieval point
embeds every memory not yet embedded plus the focal text.

Fallbacks when every attempt fails (counted by the client, logged as a warning and as a
``fallback`` event, never silent):
- harvest: ``govsim.harvest_fallback`` ("threshold": the per-villager sustainable amount;
  "last": last month's request; "zero"), capped at the stock;
- utterance: the speaker stays silent and the discussion ends (the silence is not an utterance);
- a valid utterance that names nobody as next speaker while going on: the next villager in
  seating order speaks (a ``default`` event, counted in ``Defaults``);
- summary: none (nothing is stored); limit: no agreement; reflection: no notes.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from agents import llm_exchange
from agents.govsim import human
from agents.human.beside import decide_beside
from agents.llm.requests import Decision
from agents.govsim.parsing import (match_name, parse_harvest, parse_limit, parse_notes,
                                   parse_summary, parse_utterance)
from agents.govsim.schemas import (chars, harvest_schema, limit_schema, nonblank, notes_schema,
                                   predict_budget, summary_schema, utterance_schema)

FRAMEWORK = -1  # agent id of the framework's calls (summary, limit, embeddings)
DISCUSSION_TOP_K = 5  # GovSim's memories per focal utterance in the discussion


@dataclass
class Discussion:
    """One month's group discussion."""

    lines: list[tuple[str, str]] = field(default_factory=list)  # (speaker, text), report first
    rows: list[dict] = field(default_factory=list)  # one per line, for the utterances table
    summary: str | None = None
    limit: int | None = None
    framework: dict = field(default_factory=dict)  # prompts and answers of summary and limit

    @property
    def villager_utterances(self) -> int:
        return sum(1 for r in self.rows if r["agent"] is not None and not r["fallback"])


def _user(prompt: str) -> list[dict]:
    # GovSim puts everything, rules included, into one user turn.
    return [{"role": "user", "content": prompt}]


class GovSimPolicy:
    def __init__(self, model):
        g = model.config.govsim
        self.book = model.book
        self.language = g.language
        self.text_budget = g.text_budget
        self.over_stock = g.over_stock

    # -- shared context -------------------------------------------------------------------------

    def rules(self, model, villager) -> str:
        pool = model.pool
        return self.book.rules(name=villager.name, present=[v.name for v in model.present],
                               communication=model.config.govsim.communication,
                               capacity=pool.capacity, inflow=pool.inflow,
                               overfull=pool.capacity - pool.collapse_below,
                               example=model.rules_example)

    def persona(self, villager) -> str:
        return self.book.persona(villager.persona, villager.name)

    def identity(self, villager) -> str:
        return self.book.identity(villager.name)

    def memories(self, model, villager, query: np.ndarray | list | None) -> str:
        """The memory list of a prompt; ``query`` is one focal vector, or a list of them (the
        discussion under GovSim's retrieval: the top ``DISCUSSION_TOP_K`` for each)."""
        items = self.memory_items(model, villager, query)
        return self.book.memory_list((m.date, m.text) for m in items)

    def memory_items(self, model, villager, query: np.ndarray | list | None) -> list:
        """The memories a prompt lists (``memories``), as items."""
        g = model.config.govsim
        if isinstance(query, list):
            return villager.memory.retrieve_many(model.round, min(g.memory_top_k, DISCUSSION_TOP_K),
                                                 query, mode=g.retrieval)
        return villager.memory.retrieve(model.round, g.memory_top_k, query, mode=g.retrieval)

    def embed_pending(self, model, phase: str, queries: Sequence[str]) -> list[np.ndarray | None]:
        """Embed every present villager's new memories and the focal ``queries`` in one call.

        With ``memory_top_k = 0`` only always-shown memories appear, nothing is ranked, and no
        embedding is needed.
        """
        if model.llm is None or model.config.govsim.memory_top_k == 0:
            return [None] * len(queries)
        pending = [m for v in model.present for m in v.memory.unembedded()]
        texts = list(dict.fromkeys([m.text for m in pending] + list(queries)))
        vectors = model.llm.embed(texts, round=model.round, phase=f"embed:{phase}",
                                  agent_id=FRAMEWORK)
        by_text = dict(zip(texts, vectors))
        for m in pending:
            m.embedding = by_text[m.text]
        return [by_text[q] for q in queries]

    # -- prompts (pure: no calls) ------------------------------------------------------------

    def harvest_prompt(self, model, villager, query: np.ndarray | None = None) -> str:
        words = self.book.words
        return self.book.render(
            "harvest", rules=self.rules(model, villager), persona=self.persona(villager),
            identity=self.identity(villager),
            location=words["location"], date=self.book.date(model.round), name=villager.name,
            memories=self.memories(model, villager, query),
            harvest_question=words["harvest_question"], stock=model.pool.stock,
            unit_short=words["unit_short"])

    def utterance_prompt(self, model, speaker, lines, candidates, query=None) -> str:
        names = [v.name for v in model.present]
        return self.book.render(
            "utterance", rules=self.rules(model, speaker), persona=self.persona(speaker),
            identity=self.identity(speaker),
            meeting_place=self.book.words["meeting_place"],
            date=self.book.date(model.round, "discussion"), name=speaker.name,
            memories=self.memories(model, speaker, query), participants=self.book.join(names),
            conversation=self.book.conversation(lines), candidates=self.book.join(candidates))

    def summary_prompt(self, lines) -> str:
        return self.book.render("summary", conversation=self.book.conversation(lines))

    def limit_prompt(self, lines) -> str:
        return self.book.render("limit", conversation=self.book.conversation(lines),
                                limit_question=self.book.words["limit_question"])

    def reflection_prompt(self, model, villager, query=None) -> str:
        return self.book.render(
            "reflection", rules=self.rules(model, villager), persona=self.persona(villager),
            identity=self.identity(villager),
            date=self.book.date(model.round, "end"), name=villager.name,
            memories=self.memories(model, villager, query),
            activity=self.book.words["activity"])

    # -- decisions ------------------------------------------------------------------------------

    def harvest(self, model, villagers: Sequence) -> list:
        """One Decision per villager (input order)."""
        from agents.llm.requests import DecisionRequest

        stock = model.pool.stock
        (query,) = self.embed_pending(model, "harvest", [self.book.words["location"]])
        n_chars = self._chars("reasoning")
        # GovSim takes the number asked for, even above the stock; "retry" bounds it.
        schema = harvest_schema(stock if self.over_stock == "retry" else None, n_chars)
        requests = []
        others = [v for v in villagers if not v.human]
        for v in others:
            requests.append(DecisionRequest(
                agent_id=v.unique_id, round=model.round, phase="harvest", model=v.llm_model,
                messages=_user(self.harvest_prompt(model, v, query)), schema=schema,
                fallback=schema(reasoning="", answer=min(stock, model.fallback_request(v))),
                text_parser=functools.partial(parse_harvest, reasoning_chars=n_chars),
                num_predict=self._budget(model, v.llm_model, n_chars)))

        def ask_humans(humans: Sequence) -> list:
            words = self.book.words
            return [self._human(model, v, "harvest", f"{self.book.date(model.round)}, "
                                f"{v.name}: {words['harvest_question']}",
                                human.harvest_shown(self, model, v, query), schema,
                                schema(reasoning="", answer=min(stock, model.fallback_request(v))),
                                labels=human.HARVEST_LABELS)
                    for v in humans]
        return self._mixed(model, villagers, requests, ask_humans)

    def discuss(self, model, villagers: Sequence) -> Discussion:
        book = self.book
        report = book.mayor_report([(v.name, v.collected) for v in villagers])
        talk = Discussion(lines=[(book.reporter, report)])
        talk.rows.append(self._row(0, None, book.reporter, None, report))
        n_chars = self._chars("response")
        seating = list(villagers)
        speaker = seating[0]  # GovSim: the first villager always opens
        for turn in range(1, model.config.govsim.max_utterances + 1):
            candidates = [v.name for v in seating if v is not speaker]
            if model.config.govsim.retrieval == "govsim":
                # GovSim: the top 5 for each of the last four lines of the conversation.
                query = self.embed_pending(model, f"utterance:{turn}",
                                           [text for _, text in talk.lines[-4:]])
                query = None if all(q is None for q in query) else query
            else:
                focal = " ".join(text for _, text in talk.lines[-4:])
                (query,) = self.embed_pending(model, f"utterance:{turn}", [focal])
            schema = utterance_schema(tuple(candidates), n_chars)
            fallback = schema(response="…", ends_conversation=True, next_speaker="")
            if speaker.human:
                shown = human.utterance_shown(self, model, speaker, talk.lines, candidates, query)
                d = self._human(model, speaker, f"utterance:{turn}",
                                f"{book.date(model.round, 'discussion')}, {speaker.name}: "
                                "your turn to speak", shown, schema, fallback,
                                labels=human.UTTERANCE_LABELS, check=nonblank("response"),
                                choice_labels={"next_speaker": {"": "nobody (you end it)"}})
                prompt = speaker.last_exchange["messages"][-1]["content"]
            else:
                d, prompt = self._utterance(model, speaker, turn, talk, candidates, query,
                                            schema, fallback, n_chars)
            if d.fallback:
                talk.rows.append(self._row(turn, speaker, speaker.name, d, None, prompt))
                break
            text = d.value.response.strip()
            talk.lines.append((speaker.name, text))
            row = self._row(turn, speaker, speaker.name, d, text, prompt)
            talk.rows.append(row)
            if d.value.ends_conversation:
                break
            nxt = next((v for v in seating if v.name == d.value.next_speaker), None)
            if nxt is None:
                nxt = seating[(seating.index(speaker) + 1) % len(seating)]
                row["next_default"] = True
                model.note_default(speaker, f"utterance:{turn}: no next speaker named; "
                                            f"{nxt.name} speaks")
            row["next_speaker"] = nxt.name
            speaker = nxt
        if talk.villager_utterances:
            self._conclude(model, talk)
        return talk

    def _utterance(self, model, speaker, turn, talk, candidates, query, schema, fallback,
                   n_chars):
        """An LLM villager's utterance: the decision and the prompt it answered."""
        from agents.llm.requests import DecisionRequest

        req = DecisionRequest(
            agent_id=speaker.unique_id, round=model.round, phase=f"utterance:{turn}",
            model=speaker.llm_model,
            messages=_user(self.utterance_prompt(model, speaker, talk.lines, candidates, query)),
            schema=schema,
            fallback=fallback,
            text_parser=functools.partial(_utterance_text, names=candidates, n_chars=n_chars),
            check=nonblank("response"),
            num_predict=self._budget(model, speaker.llm_model, n_chars))
        (d,) = self._decide_all(model, [speaker], [req])
        return d, req.messages[-1]["content"]

    def _conclude(self, model, talk: Discussion) -> None:
        """The framework's one-sentence summary and agreed-limit extraction (framework model)."""
        from agents.llm.requests import DecisionRequest

        framework_model = model.config.llm.model
        s_chars = self._chars("summary")
        r_chars = self._chars("reasoning")
        s_schema = summary_schema(s_chars)
        l_schema = limit_schema(model.pool.capacity, r_chars)
        summary_prompt, limit_prompt = self.summary_prompt(talk.lines), self.limit_prompt(talk.lines)
        requests = [
            DecisionRequest(agent_id=FRAMEWORK, round=model.round, phase="summary",
                            model=framework_model, messages=_user(summary_prompt),
                            schema=s_schema, fallback=s_schema(summary=""),
                            text_parser=functools.partial(parse_summary, summary_chars=s_chars),
                            check=nonblank("summary"),
                            num_predict=self._budget(model, framework_model, s_chars)),
            DecisionRequest(agent_id=FRAMEWORK, round=model.round, phase="limit",
                            model=framework_model, messages=_user(limit_prompt),
                            schema=l_schema, fallback=l_schema(reasoning="", answer=None),
                            text_parser=functools.partial(parse_limit, reasoning_chars=r_chars),
                            num_predict=self._budget(model, framework_model, r_chars)),
        ]
        summary, limit = model.llm.decide_all(requests)
        for phase, d in (("summary", summary), ("limit", limit)):
            if d.fallback:
                model.note_fallback(None, phase, d)
        talk.summary = summary.value.summary.strip() or None
        talk.limit = limit.value.answer
        talk.framework = {"summary_prompt": summary_prompt, "summary_completion": summary.raw,
                          "summary_fallback": summary.fallback, "limit_prompt": limit_prompt,
                          "limit_completion": limit.raw, "limit_fallback": limit.fallback}

    def reflect(self, model, villagers: Sequence) -> list:
        from agents.llm.requests import DecisionRequest

        (query,) = self.embed_pending(model, "reflection", [self.book.words["activity"]])
        n_chars = self._chars("note")
        schema = notes_schema(n_chars)
        # A human villager writes no notes: a person keeps their own (agents/govsim/human.py).
        requests = [DecisionRequest(
            agent_id=v.unique_id, round=model.round, phase="reflection", model=v.llm_model,
            messages=_user(self.reflection_prompt(model, v, query)), schema=schema,
            fallback=schema(notes=[]),
            text_parser=functools.partial(parse_notes, note_chars=n_chars),
            num_predict=self._budget(model, v.llm_model, None if n_chars is None else 3 * n_chars))
            for v in villagers if not v.human]
        no_notes = Decision(value=schema(notes=[]), fallback=False, attempts=1, prompt_tokens=0,
                            answer_tokens=0, latency_s=0.0, raw="")
        return self._mixed(model, villagers, requests,
                           lambda humans: [no_notes for _ in humans])

    # -- plumbing -----------------------------------------------------------------------------

    def _chars(self, field: str) -> int | None:
        return chars(self.language, field, self.text_budget)

    def _budget(self, model, llm_model: str | None, text_chars: int | None) -> int:
        return predict_budget(self.language, text_chars, model.config.llm.num_predict,
                              model.config.govsim.tokens_for(llm_model))

    @staticmethod
    def _row(turn: int, agent, name: str, d, text: str | None, prompt: str | None = None) -> dict:
        return {"turn": turn, "agent": None if agent is None else agent.unique_id, "name": name,
                "model": None if agent is None else agent.llm_model, "text": text,
                "ends": bool(d.value.ends_conversation) if d is not None and not d.fallback else None,
                "next_speaker": None, "next_default": False,
                "fallback": bool(d.fallback) if d is not None else False,
                "prompt": prompt, "completion": None if d is None else d.raw}

    def _human(self, model, villager, phase, title, shown, schema, fallback, **kw):
        d = human.ask(model, villager, phase, title, shown, schema, fallback, **kw)
        if d.fallback:
            model.note_fallback(villager, phase, d)
        return d

    def _mixed(self, model, villagers: Sequence, requests: list, ask_humans) -> list:
        """Decisions of ``villagers`` in their order: the LLM villagers' ``requests`` (one per
        villager that is not human, in order) go out while the humans answer."""
        if not any(v.human for v in villagers):
            return self._decide_all(model, villagers, requests)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="govsim-llm") as pool:
            return decide_beside(villagers, lambda v: v.human, ask_humans,
                                 lambda others: self._decide_all(model, others, requests), pool)

    def _decide_all(self, model, villagers: Sequence, requests: list) -> list:
        decisions = llm_exchange.ask(model, villagers, requests)
        for v, req, d in zip(villagers, requests, decisions):
            if d.fallback:
                model.note_fallback(v, req.phase, d)
        return decisions


def _utterance_text(text: str, names: list[str], n_chars: int) -> dict:
    parsed = parse_utterance(text, response_chars=n_chars)
    parsed["next_speaker"] = match_name(parsed["next_speaker"], names) or ""
    return parsed

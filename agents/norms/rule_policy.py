"""Rule-based villagers (Gupta et al., Sec. 3.1, 4.1): numeric strategies, no language model.

The paper's model: effort is the villager's strategy; each villager inspects one random peer
(with its monitoring propensity) and punishes a violator (with its punish propensity); social
learning copies a richer peer's strategy (effort, monitoring, belief) by the Fermi rule with
mutation; the community norm is the median of the proposed caps, each villager's belief.

The ``extended`` profile adds (``LearningConfig.active``): deterrence (a villager deterred by the
expected fine, beta times the observed chance of being fined, or by a fine that would kill it,
holds its catch to the norm); learning from punishment (a villager fined for a catch whose
excess over the norm did not pay for the fine cuts its effort back to the norm); caps that
follow the stock (each proposal is the belief scaled by R/K). Deterrence's fine rate and the
lesson of a fine are individual learning, their own step: switching social learning off leaves
them in place.
"""

from __future__ import annotations

import math
import statistics
from typing import Sequence

from agents.norms.villagers import CPRAgent
from agents.norms.policy import Norm, Proposal


def _clip01(x: float) -> float:
    return min(1.0, max(0.0, float(x)))


def norm_text(cap: float) -> str:
    return f"Each villager harvests at most {cap:.1f} fish per round."


class RuleBasedPolicy:
    def __init__(self, config) -> None:
        self.active = config.learning.active  # the additions in force, resolved once
        # The villagers' shared estimate of the chance that a catch above the norm is fined,
        # learnt from the fines they see (``observe_fines``); None until the first round, which
        # starts from the configured guess.
        self.fine_rate: float | None = None
        self.fines_seen = False  # has anyone been fined yet?

    def choose_efforts(self, model, agents: Sequence[CPRAgent]) -> list[float]:
        if self.fine_rate is None:
            self.fine_rate = model.config.learning.fine_rate_prior
        if self.active.deterrence:
            self.deter(model, agents)
        return [a.effort for a in agents]

    def deter(self, model, agents: Sequence[CPRAgent]) -> None:
        """Deterrence: hold the catch to the norm when the expected fine exceeds the excess.

        The paper's villagers know the penalty beta, the stock and that negative wealth is death
        (all are in its prompts); a villager whose effort would catch more than the adopted
        norm, by less than beta times the observed chance of being fined, or who would die if
        fined once anyone has been fined, lowers its effort to catch exactly the norm. A larger
        beta thus deters villagers before they are fined rather than only fining them (a fine
        as large as the endowment can kill at once, and any death ends a run).
        """
        cap = model.norm.cap
        norms = model.config.norms
        expected_fine = norms.penalty * self.fine_rate
        per_effort = norms.catchability * model.lake.stock
        if cap is None or per_effort <= 0 or not (expected_fine > 0 or self.fines_seen):
            return
        for agent in agents:
            catch = agent.effort * per_effort
            excess = catch - cap
            # Negative wealth is death (also in the prompts): no excess is worth a fatal fine.
            fatal = self.fines_seen and (agent.wealth + catch - norms.consumption
                                         - norms.punish_cost - norms.penalty < 0)
            if excess > 0 and (excess < expected_fine or fatal):
                # A hair under the cap, so rounding never makes the catch exceed it.
                agent.effort = cap / per_effort * (1 - 1e-9)

    def observe_fines(self, model, agents: Sequence[CPRAgent]) -> None:
        """Update ``fine_rate`` with this round's share of norm-breakers who were fined."""
        self.fines_seen = self.fines_seen or any(a.received for a in model.villagers)
        cap = model.norm.cap
        if cap is None:
            return
        over = [a for a in model.present if a.harvest > cap + 1e-9]
        if not over:
            return
        share = sum(1 for a in over if a.received) / len(over)
        w = model.config.learning.payoff_smoothing
        self.fine_rate = (1 - w) * self.fine_rate + w * share

    # Scalar draws use the model's seeded stdlib generator (model.random): for one number at a
    # time it is an order of magnitude cheaper than numpy's.

    def choose_targets(self, model, agents: Sequence[CPRAgent]) -> list[int | None]:
        rng = model.random
        targets: list[int | None] = []
        # Each inspects one living peer, whoever decides for that peer (a human, too).
        peers = agents if len(agents) == len(model.living) else model.living
        n = len(peers)
        for k, agent in enumerate(agents):
            if n < 2:
                targets.append(None)
                continue
            i = k if peers is agents else peers.index(agent)
            j = rng.randrange(n - 1)
            peer = peers[j + (j >= i)]  # uniform over the others
            # Before any vote the villager judges by its own belief.
            cap = model.norm.cap if model.norm.cap is not None else agent.belief
            inspects = rng.random() < agent.monitoring
            punishes = rng.random() < agent.punish_prob
            targets.append(peer.unique_id if inspects and peer.harvest > cap and punishes else None)
        return targets

    def learn_alone(self, model, agents: Sequence[CPRAgent]) -> None:
        """Individual learning from this round's fines (``extended`` only; the paper's model
        specifies none): the fine rate deterrence reads, and the lesson of a fine."""
        if self.active.deterrence:
            self.observe_fines(model, agents)
        if self.active.learn_from_punishment:
            self.heed_punishment(model, agents)

    def learn(self, model, agents: Sequence[CPRAgent]) -> None:
        """Payoff-biased imitation, updated synchronously so the order of villagers is irrelevant."""
        cfg = model.config.learning
        rng = model.random
        w = cfg.payoff_smoothing
        for agent in agents:
            agent.smoothed_payoff = (1 - w) * agent.smoothed_payoff + w * agent.round_payoff
        if len(agents) < 2:
            return
        belief_scale = model.config.norms.catchability * model.config.norms.capacity
        updates = {}  # applied after the loop: everyone copies the traits of the round's start
        n = len(agents)
        for i, agent in enumerate(agents):
            if rng.random() >= cfg.revision_prob:
                continue
            j = rng.randrange(n - 1)
            model_peer = agents[j + (j >= i)]
            diff = model_peer.smoothed_payoff - agent.smoothed_payoff
            p_copy = 1.0 / (1.0 + math.exp(min(700.0, -cfg.selection_strength * diff)))
            if rng.random() >= p_copy:
                continue
            effort, monitoring, belief, punish = (model_peer.effort, model_peer.monitoring,
                                                  model_peer.belief, model_peer.punish_prob)
            sd = cfg.mutation_sd
            noise = [rng.gauss(0.0, sd) for _ in range(4)] if sd > 0 else [0.0] * 4
            effort = _clip01(effort + noise[0])
            monitoring = _clip01(monitoring + noise[1])
            belief = max(0.0, belief + noise[2] * belief_scale)
            if cfg.copy_punish_prob:
                punish = _clip01(punish + noise[3])
            else:
                punish = agent.punish_prob
            updates[agent.unique_id] = (effort, monitoring, belief, punish)
        for agent in agents:
            if agent.unique_id in updates:
                agent.effort, agent.monitoring, agent.belief, agent.punish_prob = updates[agent.unique_id]

    @staticmethod
    def heed_punishment(model, agents: Sequence[CPRAgent]) -> None:
        """Individual learning from the consequence of a fine (Gupta et al., abstract: villagers
        "individually learn from the consequences of harvesting, monitoring, and punishing").

        A villager fined this round for catching more than the adopted norm, whose excess catch
        was worth less than the fine, cuts its effort to what would have kept it within the norm.
        Without it a fine acts only through imitation, which cannot hold effort down once the
        stock has fallen (the cap is in fish), and switching punishment off changes nothing.
        Before the first vote there is no shared norm to learn from.
        """
        cap = model.norm.cap
        if cap is None:
            return
        norms = model.config.norms
        for agent in agents:
            if agent.received and agent.harvest > cap:
                fine = norms.penalty * (agent.received if norms.stack_penalties else 1)
                if agent.harvest - cap < fine:
                    agent.effort *= cap / agent.harvest

    def propose(self, model, agents: Sequence[CPRAgent]) -> list[Proposal]:
        scale = 1.0
        if self.active.cap_follows_stock:
            scale = model.lake.stock / model.config.norms.capacity
        return [Proposal(a.unique_id, norm_text(a.belief * scale), cap=a.belief * scale)
                for a in agents]

    def adopt(self, model, agents, proposals: list[Proposal]) -> Norm:
        if not proposals:
            return model.norm
        cap = float(statistics.median(p.cap for p in proposals))
        return Norm(norm_text(cap), cap)

    def end_round(self, model) -> None:
        """Nothing to close: rule-based villagers keep no memory of words and embed nothing."""

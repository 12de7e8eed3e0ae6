"""Individual punishment: each villager may punish one peer it judges to break the norm.

The target loses beta once per round however many punish it (the paper's indicator V_i), unless
``stack_penalties`` is set; each punisher pays gamma.
"""

from model.engine import Module


class Punishment(Module):
    name = "punishment"

    def __call__(self, model) -> None:
        cfg = model.config
        off_after = cfg.modules.punishment_off_after
        if off_after and model.round > off_after:
            return
        living = model.living
        by_id = {a.unique_id: a for a in living}
        targets = model.policy.choose_targets(model, living)
        for punisher, target_id in zip(living, targets):
            target = by_id.get(target_id) if target_id is not None else None
            if target is None or target is punisher:
                continue  # nobody, an unknown or dead villager, or oneself: no punishment
            punisher.given = 1
            punisher.total_given += 1
            punisher.earn(-cfg.norms.punish_cost)
            target.received += 1
            target.total_received += 1
            model.log("punish", agent=punisher.unique_id, target=target.unique_id)
        for agent in living:
            if agent.received:
                times = agent.received if cfg.norms.stack_penalties else 1
                agent.earn(-cfg.norms.penalty * times)
        model.round_punishments = sum(a.given for a in living)

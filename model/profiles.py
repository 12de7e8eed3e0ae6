"""The two named profiles of the rule-based model and the values calibrated for each.

``paper`` is Gupta et al.'s model as its model section specifies it; ``extended`` adds three
mechanisms the paper does not specify (``ADDITIONS``). The paper leaves some values open (alpha,
c, P(0), R_min, the imitation rates, the monitoring range); each profile has its own, chosen by
``commons-lab calibrate --profile NAME`` (analysis/calibration.py; evidence in
``calibration/NAME/``). ``learning.profile`` picks a profile and, with it, these values; a value
set explicitly wins.
"""

from __future__ import annotations

PROFILES = ("paper", "extended")

ADDITIONS = ("learn_from_punishment", "deterrence", "cap_follows_stock")
PROFILE_ADDITIONS = {"paper": frozenset(), "extended": frozenset(ADDITIONS)}

# Calibrated values (dotted config keys).
CALIBRATED = {
    "paper": {
        "norms.catchability": 0.0667,
        "norms.consumption": 1.121,
        "norms.initial_wealth": 22.57,
        "norms.collapse_threshold": 16.18,
        "norms.monitoring_low": 0.8937,
        "norms.monitoring_high": 0.8999,
        "learning.selection_strength": 8.093,
        "learning.revision_prob": 0.4351,
        "learning.mutation_sd": 0.03433,
        "learning.payoff_smoothing": 0.5471,
        "learning.fine_rate_prior": 0.25,
    },
    "extended": {
        "norms.catchability": 0.07206,
        "norms.consumption": 1.361,
        "norms.initial_wealth": 44.3,
        "norms.collapse_threshold": 22.29,
        "norms.monitoring_low": 0.1024,
        "norms.monitoring_high": 0.4237,
        "learning.selection_strength": 3.015,
        "learning.revision_prob": 0.1274,
        "learning.mutation_sd": 0.04856,
        "learning.payoff_smoothing": 0.3868,
        "learning.fine_rate_prior": 0.1393,
    },
}

PAPER = CALIBRATED["paper"]


def fill_profile_values(data: dict, explicit: set[str], previous: str | None = None,
                        current: dict | None = None) -> dict:
    """``data`` (a nested config table) with the profile's calibrated values filled in.

    A value in ``explicit`` (dotted keys the user set) is kept. When the profile changes from
    ``previous``, a value still equal to the old profile's follows the new profile.
    """
    profile = data.get("learning", {}).get("profile", "paper")
    if profile not in CALIBRATED:
        return data  # the config builder names the allowed profiles
    for dotted, value in CALIBRATED[profile].items():
        section, key = dotted.split(".")
        if dotted in explicit:
            continue
        table = data.setdefault(section, {})
        if not isinstance(table, dict):
            return data
        if key not in table:
            table[key] = value
        elif previous is not None and previous != profile and current is not None \
                and current.get(dotted) == CALIBRATED[previous][dotted]:
            table[key] = value
    return data

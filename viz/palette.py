"""Colours, markers and type sizes of the live page, chosen for a classroom projector.

Colours are the Okabe-Ito palette, which stays distinguishable under the common forms of colour
blindness; every distinction drawn in colour is drawn a second way too (marker shape, bar hatch,
a symbol in the text), so the page also reads in greyscale or on a washed-out projector.
"""

from __future__ import annotations

from dataclasses import dataclass

# Okabe & Ito (2008), "Color Universal Design".
BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"
GREY = "#999999"

STOCK = BLUE
THRESHOLD = VERMILLION
CAPACITY = GREY
EFFICIENCY = BLUISH_GREEN
PUNISH_ARROW = BLACK


@dataclass(frozen=True)
class KindStyle:
    """How one kind of villager is drawn: colour, marker, bar hatch and a text symbol."""

    label: str
    color: str
    marker: str
    hatch: str
    symbol: str


KIND_STYLES = {
    "altruistic": KindStyle("altruistic", BLUE, "o", "", "●"),
    "selfish": KindStyle("selfish", ORANGE, "^", "//", "▲"),
    # GovSim villagers are not typed; they share one style, apart from the greedy newcomer.
    "villager": KindStyle("villager", BLUISH_GREEN, "s", "..", "■"),
    "newcomer": KindStyle("newcomer", VERMILLION, "D", "\\\\", "◆"),
}
DEAD = KindStyle("dead", GREY, "X", "xx", "✕")


def kind_style(kind: str, alive: bool = True) -> KindStyle:
    if not alive:
        return DEAD
    return KIND_STYLES.get(kind, KIND_STYLES["villager"])


# Type sizes of figures in points. At FIG_DPI a point is 100/72 px, so the smallest (11 pt) is
# drawn 15 px high: no smaller than the page's own text when the figure is shown unscaled.
FONT = {"title": 13, "label": 12, "tick": 11, "legend": 11, "annotation": 11}
MIN_TEXT_PX = 14  # the smallest text the class must read, in CSS pixels
LINE_WIDTH = 3.0
MARKER_SIZE = 9
FIG_DPI = 100

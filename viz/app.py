"""The live page: ``solara run viz.app`` (or ``commons-lab ui``) serves it.

Page 0 is for the classroom (the lake, the villagers, the norm, who punished whom); page 1 is
for the lab (each villager's latest prompt and answer, the round's events). The sidebar holds
SolaraViz's controls (Reset, Play, Step) and the run's parameters, which apply on Reset.
"""

from __future__ import annotations

import solara
from mesa.visualization import SolaraViz
from mesa.visualization import solara_viz
from solara.toestand import KernelStoreFactory

from viz.components import components
from viz.live_run import LiveRun
from viz.params import initial_values, model_params
from viz.style import grid_layout

TITLE = "commons-lab · live"

# Mesa lays every panel out at half width and 300 px high; ours need more room (see viz/style).
solara_viz.make_initial_grid_layout = grid_layout


def make_page(**fixed):
    """The page element. ``fixed`` are parameters without a widget, e.g. ``llm_backend``."""
    params = model_params(**fixed)
    # One run per browser session: a run built here at import would be shared by every
    # visitor until their first Reset.
    run = solara.Reactive(KernelStoreFactory(lambda: LiveRun(**initial_values(params)),
                                             key="commons-lab:live-run"))
    return SolaraViz(run, components=components(), model_params=params, name=TITLE,
                     play_interval=150)


page = make_page()

"""The page's CSS and its grid: large type for a projector, panels that scroll, not overflow."""

from __future__ import annotations

CSS = """
.v-application { font-size: 18px; }
.v-navigation-drawer .v-label, .v-navigation-drawer .v-select__selection,
.v-navigation-drawer input, .v-navigation-drawer .v-btn { font-size: 17px !important; }
.v-tab { font-size: 17px !important; }
/* Sliders always show their value: the class must see what is being set. */
.v-navigation-drawer .v-slider__thumb-label-container { display: block !important; }
.v-navigation-drawer .v-slider { margin-top: 30px; }
.vue-grid-item > div { height: 100%; overflow: auto; }
.vue-grid-item img { max-width: 100%; height: auto; }
.cl-panel { font-size: 1.2rem; line-height: 1.45; padding: 4px 8px; }
.cl-panel h3 { font-size: 1.5rem; font-weight: 700; margin: 0 0 6px 0; }
.cl-stat-label { font-size: 1rem; color: #555; text-transform: uppercase; letter-spacing: .04em; }
.cl-stat-value { font-size: 1.9rem; font-weight: 700; }
.cl-norm-text { font-size: 1.55rem; font-style: italic; border-left: 8px solid #0072B2;
                padding: 6px 14px; margin: 4px 0 8px 0; background: #F2F7FB; }
.cl-muted { color: #555; }
.cl-badge { display: inline-block; padding: 1px 10px; border-radius: 14px; font-weight: 700;
            border: 2px solid #000; margin-right: 6px; white-space: nowrap; }
.cl-pre { white-space: pre-wrap; font-family: monospace; font-size: 0.95rem;
          background: #F4F4F4; padding: 6px 10px; margin: 2px 0 8px 0; border-radius: 4px; }
@media (max-width: 1500px) {
  .cl-stat-value { font-size: 1.45rem; }
  .cl-panel { font-size: 1.05rem; }
}
.cl-row { display: flex; gap: 8px; align-items: baseline; margin: 3px 0; }
"""

STATUS_ROWS = 4  # grid rows (30 px each, plus 10 px gaps) of the status bar
PANEL_ROWS = 15


def grid_layout(num_components: int) -> list[dict]:
    """The first panel of a page (its status bar) spans the width; the others sit in pairs.

    SolaraViz places every panel at half width and 300 px high, which leaves figures and the
    norm panel too small to read from the back of a classroom.
    """
    layout = [{"i": 0, "x": 0, "y": 0, "w": 12, "h": STATUS_ROWS, "moved": False}]
    for k in range(1, num_components):
        row, col = divmod(k - 1, 2)
        layout.append({"i": k, "x": 6 * col, "y": STATUS_ROWS + PANEL_ROWS * row, "w": 6,
                       "h": PANEL_ROWS, "moved": False})
    return layout[:num_components]

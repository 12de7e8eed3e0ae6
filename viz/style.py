"""The page's CSS: large type for a projector, a toolbar that stays in view, and a class tab
whose four essentials fill one 1280x720 screen (two rows of half the height left)."""

from __future__ import annotations

# Height of everything above the class tab's grid (toolbar, tabs, the round's sentence and
# numbers), so the grid's two rows share the rest of the screen.
ABOVE_GRID_PX = 212

CSS = f"""
.v-application {{ font-size: 17px; }}
.v-application .v-content {{ padding: 0 !important; }}
.solara-content-main, .v-application .container {{ padding: 0 6px !important; max-width: none; }}
.cl-page {{ width: 100%; }}
.cl-toolbar {{ position: sticky; top: 0; z-index: 5; background: #FFFFFF; padding: 4px 0;
               border-bottom: 2px solid #0072B2; flex-wrap: wrap; min-height: 52px; }}
.cl-toolbar .v-btn {{ font-size: 17px !important; text-transform: none; }}
.cl-title {{ font-size: 20px; font-weight: 700; margin-right: 12px; }}
.cl-round {{ font-size: 19px; font-weight: 700; }}
.cl-changed {{ background: #F0E442; padding: 2px 10px; border-radius: 4px; font-weight: 700; }}
.cl-speed {{ width: 130px; }}
.cl-speed .v-input {{ margin: 0; padding: 0; }}
.cl-speed .v-text-field__details {{ display: none; }}
.v-tab {{ font-size: 17px !important; text-transform: none !important; min-width: 110px; }}
.v-tabs-bar {{ height: 40px !important; }}
.cl-status {{ padding: 2px 4px; }}
.cl-caption {{ font-size: 19px; font-weight: 600; line-height: 1.3; }}
.cl-stat-label {{ font-size: 14px; color: #444; text-transform: uppercase; letter-spacing: .03em; }}
.cl-stat-value {{ font-size: 21px; font-weight: 700; line-height: 1.2; }}
.cl-stat-note {{ font-size: 14px; color: #444; }}
.cl-grid {{ display: grid; gap: 6px; margin-top: 4px;
            grid-template-columns: minmax(712px, 58fr) minmax(506px, 42fr);
            grid-auto-rows: max(246px, calc((100vh - {ABOVE_GRID_PX}px) / 2)); }}
.cl-grid > * {{ overflow: auto; min-height: 0; border: 1px solid #DDD; border-radius: 4px; }}
.cl-fig {{ position: relative; }}
.cl-fig img {{ display: block; width: 100%; height: auto; }}
.cl-fig-wide img {{ min-width: 700px; }}
.cl-fig-narrow img {{ min-width: 500px; }}
.cl-fig-full img {{ min-width: 1120px; max-width: 1600px; }}
.cl-png {{ position: absolute !important; top: 2px; right: 2px; font-size: 14px !important;
           background: rgba(255,255,255,.85); }}
.cl-history {{ margin-top: 10px; }}
.cl-panel {{ font-size: 17px; line-height: 1.4; padding: 2px 8px; }}
.cl-panel h3 {{ font-size: 19px; font-weight: 700; margin: 0 0 4px 0; }}
.cl-panel h4 {{ font-size: 17px; font-weight: 700; margin: 6px 0 2px 0; }}
.cl-norm-text {{ font-size: 21px; font-style: italic; border-left: 8px solid #0072B2;
                 padding: 4px 12px; margin: 2px 0 4px 0; background: #F2F7FB; }}
.cl-muted, .cl-help {{ color: #444; }}
.cl-help {{ font-size: 15px; margin: -8px 0 10px 0; }}
.cl-badge {{ display: inline-block; padding: 0 9px; border-radius: 14px; font-weight: 700;
             border: 2px solid #000; margin-right: 6px; white-space: nowrap; }}
.cl-speaker {{ font-weight: 700; min-width: 5em; }}
.cl-pre {{ white-space: pre-wrap; font-family: monospace; font-size: 15px;
           background: #F4F4F4; padding: 6px 10px; margin: 2px 0 8px 0; border-radius: 4px; }}
.cl-row {{ display: flex; gap: 8px; align-items: baseline; margin: 2px 0; }}
.cl-lab {{ display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }}
.cl-settings {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr));
                gap: 10px; padding: 6px 0; }}
.cl-card .v-label, .cl-card .v-select__selection, .cl-card input {{ font-size: 17px !important; }}
.cl-card .v-slider {{ margin-top: 28px; }}
.cl-about {{ max-width: 980px; font-size: 19px; }}
.cl-error {{ font-size: 16px; margin: 4px 0 !important; }}
.cl-model-note {{ max-width: 235px; border-left: 6px solid #E69F00; padding-left: 8px;
                  font-size: 14px; line-height: 1.15; }}
"""

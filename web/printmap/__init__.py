"""Print-ready plan maps: PDF or PNG of chosen layers on A4, A3 or A1, rendered on the server with no internet.

The map is drawn in VN-2000 / TM-3 106°30′ (EPSG:9213) at a standard scale that is true on paper, with a VN-2000
grid labelled in metres, a scale bar, grid north, a title block, the legend of what is drawn (symbols from
web/styles.json, the screen map's own table, plus the print additions of web/print_styles.json), sources and
licences, the accuracy note for non-exact layers and the date.

Only matplotlib's object-oriented API is used (a `Figure` per call, never pyplot), so concurrent renders in server
threads do not share state; call `render_map` from a worker thread (it takes a few seconds on A1).

    from web.printmap import render_map
    pdf = render_map(dataset, preset="cluster-plan-2030", size="A3", orientation="landscape", fmt="pdf")

Modules, in the order a render uses them:
- presets: the named maps of print_styles.json
- layout: checks a request (PrintError) and plans the page, the scale and the extent (MapPlan, plan_map)
- canvas: the matplotlib figure of one render and what the drawing steps share
- symbols: styles.json + print_styles.json → matplotlib styles; features grouped by class and drawn
- features: the mask outside the province and each layer's features
- furniture: grid, grid north, frame
- labels: greedy placement of feature labels
- panel: title, scale block, accuracy note, sources, footer; legend: the legend in the space left
- texts, typography: the words on the sheet in both languages; the font, text measure and text drawing
- render: render_map and draw_plan, the steps in order
"""

from .layout import PAPER_MM, MapPlan, PrintError, plan_map
from .presets import PRESETS, MapPreset
from .render import draw_plan, render_map

__all__ = ["PAPER_MM", "PRESETS", "MapPlan", "MapPreset", "PrintError", "draw_plan", "plan_map", "render_map"]

"""The deficiency ageing chart: open deficiencies by days open, stacked by severity, as PNG.

matplotlib's Agg backend renders without a display (servers, CI); the figure is built with
the object API, never pyplot's global state, so concurrent requests cannot share a figure.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from chartkeeper.figures import drawn_once
from chartkeeper.store import Repository

from .reports import BUCKETS, ageing
from .rules import SEVERITIES

COLOURS = {"low": "#9ecae1", "medium": "#fdae6b", "high": "#e6550d", "critical": "#a50f15"}


@drawn_once
def ageing_png(
    table: dict[str, dict[str, int]], *, title: str = "Open deficiencies by age"
) -> bytes:
    """Render an ageing table ({severity: {bucket: count}}, as `reports.ageing`) to PNG."""
    names = [name for name, _, _ in BUCKETS]
    figure = Figure(figsize=(7, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bottom = [0] * len(names)
    order = [s for s in SEVERITIES if s in table] + sorted(set(table) - set(SEVERITIES))
    for severity in order:
        counts = [table[severity].get(name, 0) for name in names]
        axes.bar(names, counts, bottom=bottom, label=severity, color=COLOURS.get(severity))
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    for x, total in enumerate(bottom):
        axes.annotate(str(total), (x, total), ha="center", va="bottom")
    axes.set_xlabel("days open")
    axes.set_ylabel("open deficiencies")
    axes.set_title(title)
    if order:
        axes.legend(title="severity")
    axes.set_ylim(0, max([*bottom, 1]) * 1.15)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def plot_ageing(
    repo: Repository, path: Path | None = None, *, now: datetime | None = None
) -> bytes:
    """The ageing chart of the store's open deficiencies; also written to `path` if given."""
    png = ageing_png(ageing(repo, now=now))
    if path is not None:
        Path(path).write_bytes(png)
    return png

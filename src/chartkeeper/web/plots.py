"""Trend plots for the chart view: one result over time, as PNG (matplotlib's object API on
the Agg canvas, so concurrent requests never share a figure)."""

from __future__ import annotations

import io
from datetime import datetime

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from chartkeeper.figures import drawn_once


@drawn_once
def trend_png(
    title: str,
    unit: str,
    points: list[tuple[datetime, float]],
    low: float | None = None,
    high: float | None = None,
) -> bytes:
    """A line of `points` (time, value), with the reference range shaded when known."""
    figure = Figure(figsize=(6, 2.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    points = sorted(points)
    if low is not None and high is not None:
        axes.axhspan(low, high, color="#d9ead3", label="reference range")
    axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", color="#1f4e79")
    axes.set_title(title, fontsize=10)
    axes.set_ylabel(unit or "value")
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()

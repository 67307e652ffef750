"""Charts as PNG bytes: pure functions of plain data (no database, no aiogram).

They take tens of milliseconds, so the bot calls them through `receipts.pool.run_cpu`. Only
matplotlib's object-oriented API with the Agg canvas is used (no pyplot): no global figure state,
safe in a thread pool as well as in worker processes. matplotlib's bundled DejaVu Sans has
Cyrillic.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

WIDTH_IN, DPI = 8.0, 120
PALETTE = (
    "#3f7fbf", "#e8893b", "#5aa45a", "#c4504f", "#8e6bbf",
    "#8c6d5a", "#d67fbd", "#7f7f7f", "#b8b83c", "#3cb8c8",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class BarSeries:
    label: str
    values: tuple[Decimal | None, ...]  # aligned with the chart's x labels; None: no data


def _figure(height_in: float):  # type: ignore[no-untyped-def]
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _png(figure) -> bytes:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _number(value: float) -> str:
    """Axis ticks the Russian way: `12 500`."""
    return f"{value:,.0f}".replace(",", "\u00a0")


def stacked_bars(title: str, x_labels: Sequence[str], series: Sequence[BarSeries]) -> bytes:
    """Stacked bars, one stack per x label (months), one colour per series (service groups).

    Negative amounts (rare: a month's charges reversed) are stacked below zero.
    """
    from matplotlib.ticker import FuncFormatter

    figure = _figure(4.8)
    axes = figure.add_subplot()
    positions = range(len(x_labels))
    above = [0.0] * len(x_labels)
    below = [0.0] * len(x_labels)
    for index, item in enumerate(series):
        values = [float(v) if v is not None else 0.0 for v in item.values]
        bottoms = [below[i] if v < 0 else above[i] for i, v in enumerate(values)]
        axes.bar(
            positions, values, bottom=bottoms, label=item.label,
            color=PALETTE[index % len(PALETTE)], width=0.7,
        )  # fmt: skip
        for i, v in enumerate(values):
            if v < 0:
                below[i] += v
            else:
                above[i] += v
    axes.set_title(title, fontsize=12)
    axes.set_xticks(list(positions), list(x_labels), rotation=45, ha="right", fontsize=9)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: _number(value)))
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    if series:
        axes.legend(fontsize=9, loc="upper left", framealpha=0.85)
    figure.tight_layout()
    return _png(figure)


def bar_panels(
    title: str, x_labels: Sequence[str], panels: Sequence[tuple[BarSeries, str]]
) -> bytes:
    """One bar panel per series (meters), sharing the x axis; each panel has its own unit."""
    from matplotlib.ticker import FuncFormatter

    count = max(len(panels), 1)
    figure = _figure(1.2 + 2.2 * count)
    axes_list = figure.subplots(count, 1, sharex=True, squeeze=False)[:, 0]
    positions = list(range(len(x_labels)))
    for index, (axes, (item, unit)) in enumerate(zip(axes_list, panels, strict=False)):
        values = [float(v) if v is not None else 0.0 for v in item.values]
        missing = [v is None for v in item.values]
        bars = axes.bar(positions, values, color=PALETTE[index % len(PALETTE)], width=0.7)
        for bar, gap in zip(bars, missing, strict=True):
            if gap:
                bar.set_alpha(0.0)
        axes.set_title(f"{item.label}, {unit}" if unit else item.label, fontsize=10)
        axes.yaxis.set_major_formatter(
            FuncFormatter(lambda value, _pos: f"{value:g}".replace(".", ","))
        )
        axes.grid(axis="y", alpha=0.3)
        axes.set_axisbelow(True)
    axes_list[-1].set_xticks(positions, list(x_labels), rotation=45, ha="right", fontsize=9)
    figure.suptitle(title, fontsize=12)
    figure.tight_layout()
    return _png(figure)

"""Charts drawn on the server as inline SVG: the geometry of a bar chart or a stacked bar chart,
which ``partials/chart.html`` and ``partials/stacked_chart.html`` draw. No script and nothing
from the internet (the Content-Security-Policy allows neither); each chart is an image with a
title and a description for screen readers (role="img"), and every page shows its numbers in a
table beside it as well."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH = 600  # of the viewBox; the chart scales to the page's width
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 18, 34  # margins: the y axis's numbers, the x axis's labels
PLOT_HEIGHT = 150
MAX_LABELS = 12  # x axis labels at most (every n-th bar's when there are more bars)


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int | float
    label: str  # under the bar ("" for none)
    tip: str  # the bar's own title (a tooltip)
    css: str = ""
    show_value: bool = True  # the number above the bar (when the bars are wide enough)

    @property
    def middle(self) -> float:
        return round(self.x + self.width / 2, 1)


@dataclass
class Mark:
    """A vertical line across the plot (a deadline), with its label at the top."""

    x: float
    label: str


@dataclass
class Tick:
    y: float
    value: int


@dataclass
class Chart:
    id: str  # unique on the page: the title's and description's ids derive from it
    title: str
    desc: str
    x_label: str
    bars: list[Bar] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    width: int = WIDTH
    height: int = TOP + PLOT_HEIGHT + BOTTOM
    left: int = LEFT
    right: int = WIDTH - RIGHT
    base: int = TOP + PLOT_HEIGHT  # the y of the x axis

    @property
    def label_y(self) -> int:
        return self.base + 14

    @property
    def x_label_y(self) -> int:
        return self.height - 4

    @property
    def middle(self) -> float:
        return (self.left + self.right) / 2


def _ticks(top: int) -> list[int]:
    """Up to five round numbers from 0 to ``top`` (at least 1) for the y axis."""
    top = max(top, 1)
    step = max(1, math.ceil(top / 4))
    return list(range(0, top + 1, step))


def bar_chart(
    id: str,
    title: str,
    desc: str,
    x_label: str,
    items: Sequence[tuple[str, float, str]],
    css: Sequence[str] | None = None,
    marks: dict[float, str] | None = None,
) -> Chart:
    """Bars of ``items`` (label, value, tip) from left to right on a common scale from 0 (the
    largest value reaches the top); ``css``: a class for each bar; ``marks``: a line with a
    label at these positions, in bars from the left edge (1.5: the middle of the second)."""
    chart = Chart(id, title, desc, x_label)
    if not items:
        return chart
    top = max(max(v for _, v, _ in items), 1)
    slot = (chart.right - chart.left) / len(items)
    gap = min(4.0, slot * 0.2)
    every = max(1, math.ceil(len(items) / MAX_LABELS))
    for i, (label, value, tip) in enumerate(items):
        height = round(PLOT_HEIGHT * value / top, 1)
        chart.bars.append(
            Bar(
                x=round(chart.left + i * slot + gap / 2, 1), y=round(chart.base - height, 1),
                width=round(slot - gap, 1), height=height, value=value,
                label=label if i % every == 0 else "", tip=tip,
                css=css[i] if css else "", show_value=slot >= 16,
            )
        )  # fmt: skip
    for at, label in (marks or {}).items():
        chart.marks.append(Mark(round(chart.left + at * slot, 1), label))
    chart.ticks = [
        Tick(round(chart.base - PLOT_HEIGHT * v / top, 1), v) for v in _ticks(math.ceil(top))
    ]
    return chart


@dataclass
class Segment:
    x: float
    width: float
    value: int
    css: str
    tip: str


@dataclass
class StackedRow:
    y: float
    label: str
    segments: list[Segment]


@dataclass
class StackedChart:
    id: str
    title: str
    desc: str
    rows: list[StackedRow] = field(default_factory=list)
    width: int = WIDTH
    left: int = 150  # the rows' labels
    right: int = WIDTH - RIGHT
    row_height: int = 22

    @property
    def height(self) -> int:
        return len(self.rows) * self.row_height + 4

    @property
    def bar_height(self) -> int:
        return self.row_height - 6

    @property
    def text_dy(self) -> int:  # a row's label sits on the bar's baseline, a little up
        return self.bar_height - 4


def stacked_chart(
    id: str,
    title: str,
    desc: str,
    rows: Sequence[tuple[str, Sequence[tuple[str, int, str]]]],
    total: int,
) -> StackedChart:
    """A horizontal bar for each row (label, [(css class, value, tip), …]) whose segments add up
    to ``total`` at the full width."""
    chart = StackedChart(id, title, desc)
    span = chart.right - chart.left
    for i, (label, parts) in enumerate(rows):
        x = float(chart.left)
        segments = []
        for css, value, tip in parts:
            if value <= 0:
                continue
            width = span * value / total if total else 0.0
            segments.append(Segment(round(x, 1), round(width, 1), value, css, tip))
            x += width
        short = label if len(label) <= 22 else label[:21] + "…"
        chart.rows.append(StackedRow(i * chart.row_height + 2, short, segments))
    return chart

"""Charts of the stages page as inline SVG drawn on the server: horizontal bars with their labels and
values written beside them, so the numbers are readable without the bars (and without scripts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

ROW, LEFT, WIDTH, RIGHT = 26, 210, 720, 110


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # in the chart's unit; the bar's length
    text: str  # what is written beside the bar
    mark: float | None = None  # a reference line on this bar (an SLA), in the same unit


def bar_chart(
    title: str, bars: Sequence[Bar], *, colour: str = "#4c78a8", top: float | None = None
) -> Markup:
    """One horizontal bar per item, scaled to the largest value (or `top`)."""
    largest = top or max([b.value for b in bars] + [b.mark or 0 for b in bars] + [0.0]) or 1.0
    span = WIDTH - LEFT - RIGHT
    height = 30 + ROW * max(len(bars), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-weight="600" font-size="14">{escape(title)}</text>',
    ]
    for index, item in enumerate(bars):
        y = 26 + index * ROW
        length = max(0.0, min(item.value / largest, 1.0)) * span
        parts.append(
            f'<text x="{LEFT - 8}" y="{y + 15}" text-anchor="end" font-size="12">{escape(item.label)}</text>'
            f'<rect x="{LEFT}" y="{y + 3}" width="{length:.1f}" height="{ROW - 8}" fill="{colour}"/>'
            f'<text x="{LEFT + length + 6:.1f}" y="{y + 15}" font-size="12">{escape(item.text)}</text>'
        )
        if item.mark is not None:
            x = LEFT + min(item.mark / largest, 1.0) * span
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + ROW - 2}" stroke="#c0392b" '
                'stroke-width="2" stroke-dasharray="3 2"/>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))

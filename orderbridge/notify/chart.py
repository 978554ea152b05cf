"""The report's chart: open discrepancies by rule and age band, as stacked horizontal bars in a PNG
drawn with Pillow. Labels are the rule names and age bands in ASCII, drawn with the font Pillow
ships, so the chart looks the same on any machine; the e-mail around it names the rules in the
report's language."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from PIL import Image, ImageDraw, ImageFont

COLOURS = ("#7fb3d5", "#f5b041", "#e67e22", "#c0392b")  # one per age band, young to old
WIDTH, ROW, TOP, LEFT, RIGHT = 640, 30, 44, 170, 40


def age_chart(counts: Mapping[str, Mapping[str, int]], bands: Sequence[str]) -> bytes:
    """counts: rule -> age band -> open discrepancies; one bar per rule, one segment per band."""
    rules = [rule for rule in counts if sum(counts[rule].values())] or ["(none)"]
    height = TOP + ROW * len(rules) + 24
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    largest = max((sum(counts.get(rule, {}).values()) for rule in rules), default=0) or 1
    span = WIDTH - LEFT - RIGHT
    x = LEFT
    for band, colour in zip(bands, COLOURS, strict=False):  # legend
        draw.rectangle((x, 12, x + 12, 24), fill=colour)
        draw.text((x + 17, 11), band, fill="#333333", font=font)
        x += 80
    for index, rule in enumerate(rules):
        y = TOP + index * ROW
        draw.text((8, y + 5), rule, fill="#222222", font=font)
        x = LEFT
        total = 0
        for band, colour in zip(bands, COLOURS, strict=False):
            count = counts.get(rule, {}).get(band, 0)
            if not count:
                continue
            width = max(round(span * count / largest), 2)
            draw.rectangle((x, y + 3, x + width, y + ROW - 7), fill=colour)
            x += width
            total += count
        draw.text((x + 6, y + 5), str(total), fill="#222222", font=font)
    draw.line((LEFT, TOP - 4, LEFT, TOP + ROW * len(rules)), fill="#999999")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()

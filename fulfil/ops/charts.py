"""Small charts for the console's key figures: a day's values as an SVG polyline with a dot per day (pure)."""

from __future__ import annotations

from typing import Any

WIDTH, HEIGHT, PAD = 140.0, 36.0, 4.0


def sparkline(points: list[tuple[str, float | None]]) -> dict[str, Any]:
    """Coordinates of a small line chart of (day, value) pairs, oldest first; a day without a value has no dot and
    breaks the line. The scale runs from 0 (or the lowest value, if negative) to the highest value."""
    values = [v for _, v in points if v is not None]
    top = max(values, default=0.0)
    bottom = min(0.0, min(values, default=0.0))
    span = (top - bottom) or 1.0
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)
    dots = []
    for i, (day, value) in enumerate(points):
        if value is None:
            dots.append({"day": day, "value": None})
            continue
        x = PAD + i * step
        y = HEIGHT - PAD - (value - bottom) / span * (HEIGHT - 2 * PAD)
        dots.append({"day": day, "value": value, "x": round(x, 1), "y": round(y, 1)})
    segments: list[list[str]] = [[]]
    for dot in dots:
        if dot["value"] is None:
            segments.append([])
        else:
            segments[-1].append(f"{dot['x']},{dot['y']}")
    return {"width": WIDTH, "height": HEIGHT, "dots": dots, "lines": [" ".join(s) for s in segments if len(s) > 1]}

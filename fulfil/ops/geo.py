"""Country outlines for the ops console's map, from the vendored world-atlas TopoJSON (no tile server, no network).

TopoJSON stores shared borders once, as quantized, delta-encoded arcs; a country is a list of polygons, each a list
of rings, each a list of arc indexes (a negative index ~i is arc i reversed). Decoded here to longitude/latitude
rings, kept when they touch the map's view, and projected to SVG coordinates by an equirectangular projection
scaled by the cosine of the view's middle latitude (true to shape at the scale of one country).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ATLAS = Path(__file__).resolve().parent.parent / "web" / "ops" / "static" / "vendor" / "world-atlas-2.0.2" / "countries-50m.json"

Ring = list[tuple[float, float]]  # (lon, lat)


@dataclass(frozen=True)
class View:
    """The map's window in degrees and its size in SVG units (width; the height follows from the projection)."""

    west: float
    south: float
    east: float
    north: float
    width: float = 800.0

    @property
    def kx(self) -> float:
        return self.width / ((self.east - self.west) * math.cos(math.radians((self.north + self.south) / 2)))

    @property
    def height(self) -> float:
        return (self.north - self.south) * self.kx

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        x = (lon - self.west) * self.kx * math.cos(math.radians((self.north + self.south) / 2))
        y = (self.north - lat) * self.kx
        return round(x, 1), round(y, 1)

    def touches(self, ring: Ring) -> bool:
        return any(self.west <= lon <= self.east and self.south <= lat <= self.north for lon, lat in ring)


@cache
def _topology() -> dict[str, Any]:
    with ATLAS.open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@cache
def _arcs() -> list[Ring]:
    topo = _topology()
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    decoded = []
    for arc in topo["arcs"]:
        x = y = 0
        ring = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            ring.append((x * sx + tx, y * sy + ty))
        decoded.append(ring)
    return decoded


def _ring(indexes: list[int]) -> Ring:
    arcs = _arcs()
    out: Ring = []
    for i in indexes:
        points = arcs[i] if i >= 0 else arcs[~i][::-1]
        out.extend(points if not out else points[1:])
    return out


def country_rings(name: str) -> list[Ring]:
    """Every outer and inner ring of a country (by its Natural Earth name), in lon/lat."""
    for geometry in _topology()["objects"]["countries"]["geometries"]:
        if geometry.get("properties", {}).get("name") == name:
            polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
            return [_ring(ring) for polygon in polygons for ring in polygon]
    raise KeyError(name)


def outlines(view: View, names: list[str]) -> dict[str, str]:
    """SVG path data of each country named, with only the rings that show in the view (France's overseas parts
    fall outside a view of Europe)."""
    out = {}
    for name in names:
        parts = []
        for ring in country_rings(name):
            if not view.touches(ring):
                continue
            points = [view.project(lon, lat) for lon, lat in ring]
            parts.append("M" + "L".join(f"{x},{y}" for x, y in points) + "Z")
        out[name] = "".join(parts)
    return out


def _ring_countries() -> list[tuple[str, list[Ring]]]:
    return [(g.get("properties", {}).get("name", ""), country_rings(g.get("properties", {}).get("name", "")))
            for g in _topology()["objects"]["countries"]["geometries"] if g.get("properties", {}).get("name")]


@cache
def countries_in(view: View) -> dict[str, str]:
    """SVG path data of every country with a ring in the view (computed once per view)."""
    names = [name for name, rings in _ring_countries() if any(view.touches(r) for r in rings)]
    return outlines(view, names)


def view_around(points: list[tuple[float, float]], margin: float = 0.8, width: float = 800.0) -> View:
    """The smallest window holding every (lon, lat) point with `margin` degrees around (a point alone: 2 degrees)."""
    if not points:
        return View(-5.5, 41.2, 10.0, 51.3, width)  # metropolitan France
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    west, east, south, north = min(lons) - margin, max(lons) + margin, min(lats) - margin, max(lats) + margin
    if east - west < 2:
        west, east = (west + east) / 2 - 1, (west + east) / 2 + 1
    if north - south < 2:
        south, north = (south + north) / 2 - 1, (south + north) / 2 + 1
    return View(round(west, 2), round(south, 2), round(east, 2), round(north, 2), width)

"""The map's geography: the vendored TopoJSON decoded to the right places, and the projection's orientation."""

from __future__ import annotations

import pytest

from fulfil.ops.geo import View, countries_in, country_rings, outlines, view_around


def test_france_decodes_to_its_mainland_corsica_and_overseas_parts() -> None:
    rings = country_rings("France")
    boxes = [(min(x for x, _ in r), min(y for _, y in r), max(x for x, _ in r), max(y for _, y in r)) for r in rings]
    mainland = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]) if b[1] > 40 else 0)
    # Metropolitan France spans about 4.8 W to 8.2 E and 42.3 N to 51.1 N (Natural Earth 1:50m).
    assert mainland == pytest.approx((-4.8, 42.3, 8.2, 51.1), abs=0.15)
    assert any(8.5 < b[0] and b[2] < 9.7 and 41.3 < b[1] and b[3] < 43.1 for b in boxes)  # Corsica
    assert any(b[2] < -51 and b[1] < 6 for b in boxes)  # French Guiana: in the atlas, left out of a view of Europe
    europe = View(-5.5, 41.2, 10.0, 51.3)
    assert outlines(europe, ["France"])["France"].count("M") < len(rings)
    with pytest.raises(KeyError):
        country_rings("Atlantis")


def test_the_projection_keeps_north_up_and_east_right_and_the_view_holds_every_point() -> None:
    view = view_around([(2.35, 48.86), (5.37, 43.30), (-1.55, 47.22)])  # Paris, Marseille, Nantes
    paris, marseille, nantes = view.project(2.35, 48.86), view.project(5.37, 43.30), view.project(-1.55, 47.22)
    assert marseille[1] > paris[1] and nantes[0] < paris[0] < marseille[0]
    for x, y in (paris, marseille, nantes):
        assert 0 < x < view.width and 0 < y < view.height
    assert {"France", "Spain", "Switzerland"} <= set(countries_in(view))
    assert view_around([]).west < -4 and view_around([(4.0, 45.0)]).east - view_around([(4.0, 45.0)]).west >= 2


def test_a_sparkline_scales_from_zero_and_breaks_where_a_day_had_nothing() -> None:
    from fulfil.ops.charts import HEIGHT, PAD, sparkline

    chart = sparkline([("d1", 2.0), ("d2", 4.0), ("d3", None), ("d4", 0.0), ("d5", 1.0)])
    dots = [d for d in chart["dots"] if d["value"] is not None]
    assert [d["day"] for d in dots] == ["d1", "d2", "d4", "d5"]
    assert dots[1]["y"] == PAD and dots[2]["y"] == HEIGHT - PAD  # the highest at the top, 0 at the bottom
    assert len(chart["lines"]) == 2  # broken at the day without a value
    assert sparkline([])["lines"] == [] and sparkline([("d1", None)])["dots"] == [{"day": "d1", "value": None}]

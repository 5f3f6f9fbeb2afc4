"""Cost model on hand-computed cases and the formats' validation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import routing
from routing.cost import distance_km, transit_days


def test_example_distance_and_parcel_cost(example: dict[str, Any]) -> None:
    km = distance_km((45.764, 4.8357), (45.70, 4.90))
    assert km == pytest.approx(8.69, abs=0.005)
    inst = routing.instance_from_dict(example)
    plan = routing.solve_greedy(inst)
    by_order = {s.order: s for s in plan.shipments}
    assert by_order["W-1001"].cost == pytest.approx(4.50 + 0.012 * km + 1.20)
    assert round(4.50 + 0.012 * 8.69, 4) == 4.6043
    assert by_order["S-0042"].cost == pytest.approx(2.40)  # own pickup store: no parcel cost
    assert by_order["S-0042"].delivery_days == 0
    assert by_order["W-1001"].delivery_days == 1
    assert plan.cost.total == pytest.approx(2.40 + 4.50 + 0.012 * km + 1.20)
    assert plan.unfilled == ()


def test_optimal_on_example_matches_document(example: dict[str, Any]) -> None:
    inst = routing.instance_from_dict(example)
    plan = routing.solve_optimal(inst, routing.Options(time_limit=2))
    assert plan.cost.total == pytest.approx(8.2043, abs=1e-3)
    assert plan.lower_bound is not None and plan.lower_bound <= plan.cost.total + 1e-6
    assert plan.lower_bound == pytest.approx(plan.cost.total, abs=1e-4)


def test_transit_table() -> None:
    p = routing.Params(4.5, 0.012, 2.0, 250.0, ((150.0, 1), (600.0, 2), (None, 3)))
    assert list(transit_days(p, [0.0, 150.0, 150.1, 600.0, 2000.0])) == [1, 1, 2, 2, 3]


def test_split_and_unfilled_penalties(example: dict[str, Any]) -> None:
    example["stock"] = [
        {"location": "ST-LYON-01", "sku": "A", "on_hand": 1},
        {"location": "DC-PARIS", "sku": "B", "on_hand": 1},
    ]
    example["orders"] = [{"id": "O", "channel": "web", "ship_to": {"lat": 45.70, "lon": 4.90},
                          "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}, {"sku": "C", "qty": 2}]}]
    inst = routing.instance_from_dict(example)
    plan = routing.solve_optimal(inst, routing.Options(time_limit=2))
    d_lyon = distance_km((45.764, 4.8357), (45.70, 4.90))
    d_paris = distance_km((48.95, 2.55), (45.70, 4.90))
    expected = (4.5 + 0.012 * d_lyon + 1.2) + (4.5 + 0.012 * d_paris + 0.4) + 2.0 + 2 * 250.0
    assert plan.cost.total == pytest.approx(expected)
    assert plan.cost.split == 2.0 and plan.cost.unfilled == 500.0
    assert [(u.sku, u.qty) for u in plan.unfilled] == [("C", 2)]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["orders"][1]["lines"][0].__setitem__("qty", 0), "orders[1].lines[0].qty"),
        (lambda d: d["orders"][0]["lines"][0].__setitem__("qty", "1"), "orders[0].lines[0].qty"),
        (lambda d: d["locations"][1].__setitem__("kind", "shop"), "locations[1].kind"),
        (lambda d: d["stock"][0].__setitem__("location", "NOWHERE"), "stock[0].location"),
        (lambda d: d["params"].pop("split_penalty"), "params.split_penalty"),
        (lambda d: d["orders"][1].__setitem__("pickup_at", "DC-PARIS"), "orders[1].pickup_at"),
        (lambda d: d.__setitem__("format", "fulfil.routing-instance/2"), "format"),
        (lambda d: d["locations"][0].__setitem__("lat", 91), "locations[0].lat"),
        (lambda d: d["orders"][0].__setitem__("id", "S-0042"), "orders[1].id"),
    ],
)
def test_invalid_instance_names_field(example: dict[str, Any], mutate: Any, field: str) -> None:
    mutate(example)
    with pytest.raises(routing.InvalidInstance) as info:
        routing.instance_from_dict(example)
    assert info.value.field == field or (field == "orders[1].id" and info.value.field.endswith(".id"))
    assert info.value.field in str(info.value)


def test_unknown_fields_ignored_and_round_trip(example: dict[str, Any]) -> None:
    example["future"] = {"x": 1}
    example["orders"][0]["gift_wrap"] = True
    inst = routing.instance_from_dict(example)
    assert routing.instance_from_dict(routing.instance_to_dict(inst)) == inst
    plan = routing.solve_greedy(inst)
    doc = routing.plan_to_dict(plan)
    doc["something_new"] = 1
    again = routing.plan_from_dict(doc)
    assert routing.check(inst, again).cost_agrees


def test_invalid_plan_names_field() -> None:
    with pytest.raises(routing.InvalidPlan) as info:
        routing.plan_from_dict({"format": "fulfil.routing-plan/1", "shipments": [{"order": "A", "location": "B", "lines": [{"sku": "x", "qty": -1}]}]})
    assert info.value.field == "shipments[0].lines[0].qty"


def test_format_document_examples_are_what_the_library_reads(example: dict[str, Any]) -> None:
    # docs/formats/routing.md is the public contract: its two examples must parse, agree and match the fixture.
    doc = (Path(__file__).resolve().parents[2] / "docs" / "formats" / "routing.md").read_text(encoding="utf-8")
    instance_doc, plan_doc = (json.loads(block) for block in re.findall(r"```json\n(.*?)```", doc, re.S))
    assert instance_doc == example
    report = routing.check(routing.instance_from_dict(instance_doc), routing.plan_from_dict(plan_doc))
    assert report.feasible and report.cost_agrees

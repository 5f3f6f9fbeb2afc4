"""Every number of an instance is finite and sane, whether read from a file or built in code."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import pytest

import routing
from fulfil.cli import main as cli
from routing import limits

# (where in the document, field path the error must name); each gets every bad value below.
NUMBER_FIELDS = [
    (("params", "parcel_base_cost"), "params.parcel_base_cost"),
    (("params", "cost_per_km"), "params.cost_per_km"),
    (("params", "split_penalty"), "params.split_penalty"),
    (("params", "unfilled_penalty"), "params.unfilled_penalty"),
    (("params", "transit_days", 1, 0), "params.transit_days[1][0]"),
    (("params", "transit_days", 1, 1), "params.transit_days[1][1]"),
    (("locations", 1, "lat"), "locations[1].lat"),
    (("locations", 1, "lon"), "locations[1].lon"),
    (("locations", 1, "capacity"), "locations[1].capacity"),
    (("locations", 1, "pick_cost_per_unit"), "locations[1].pick_cost_per_unit"),
    (("locations", 0, "handling_days"), "locations[0].handling_days"),
    (("stock", 0, "on_hand"), "stock[0].on_hand"),
    (("stock", 0, "safety"), "stock[0].safety"),
    (("orders", 0, "ship_to", "lat"), "orders[0].ship_to.lat"),
    (("orders", 0, "ship_to", "lon"), "orders[0].ship_to.lon"),
    (("orders", 0, "promise_days"), "orders[0].promise_days"),
    (("orders", 1, "lines", 0, "qty"), "orders[1].lines[0].qty"),
]
BAD_VALUES = [(math.inf, "must be finite"), (-math.inf, "must be finite"), (math.nan, "must be finite"), (1e308, "must be ")]


def _set(doc: Any, where: tuple[Any, ...], value: Any) -> None:
    for key in where[:-1]:
        doc = doc[key]
    doc[where[-1]] = value


@pytest.mark.parametrize(("where", "field"), NUMBER_FIELDS)
@pytest.mark.parametrize(("value", "message"), BAD_VALUES)
def test_document_with_non_finite_or_absurd_number_is_refused(example: dict[str, Any], where: tuple[Any, ...], field: str,
                                                                value: float, message: str) -> None:
    _set(example, where, value)
    with pytest.raises(routing.InvalidInstance) as info:
        routing.instance_from_dict(example)
    assert info.value.field == field
    assert info.value.message.startswith(message)
    assert str(info.value) == f"invalid instance: {field}: {info.value.message}"


@pytest.mark.parametrize(
    ("where", "value", "field", "message"),
    [
        (("locations", 1, "pick_cost_per_unit"), -0.01, "locations[1].pick_cost_per_unit", "must be between 0 and 1,000,000"),
        (("params", "unfilled_penalty"), limits.MAX_MONEY * 10, "params.unfilled_penalty", "must be between 0 and 1,000,000"),
        (("params", "cost_per_km"), 1001, "params.cost_per_km", "must be between 0 and 1,000"),
        (("params", "transit_days", 0, 0), 1e6, "params.transit_days[0][0]", "must be between 0 and 100,000"),
        (("locations", 0, "capacity"), 2**63, "locations[0].capacity", "must be between 0 and 1,000,000,000"),
        (("stock", 0, "on_hand"), 10**30, "stock[0].on_hand", "must be between 0 and 1,000,000,000"),
        (("orders", 0, "promise_days"), 100_000, "orders[0].promise_days", "must be between 0 and 3,650"),
        (("locations", 1, "handling_days"), 1.5, "locations[1].handling_days", "must be an integer"),
        (("locations", 1, "pick_cost_per_unit"), True, "locations[1].pick_cost_per_unit", "must be a number"),
        (("locations", 1, "lat"), "45.7", "locations[1].lat", "must be a number"),
    ],
)
def test_out_of_range_is_refused_with_the_range(example: dict[str, Any], where: tuple[Any, ...], value: Any, field: str, message: str) -> None:
    _set(example, where, value)
    with pytest.raises(routing.InvalidInstance) as info:
        routing.instance_from_dict(example)
    assert (info.value.field, info.value.message) == (field, message)


def test_the_limits_themselves_are_accepted(example: dict[str, Any]) -> None:
    example["params"].update(parcel_base_cost=limits.MAX_MONEY, cost_per_km=limits.MAX_COST_PER_KM, split_penalty=0,
                             unfilled_penalty=limits.MAX_MONEY, transit_days=[[limits.MAX_KM, limits.MAX_DAYS]])
    example["locations"][0].update(lat=-90, lon=180, capacity=limits.MAX_UNITS, pick_cost_per_unit=limits.MAX_MONEY,
                                   handling_days=limits.MAX_DAYS)
    example["stock"][0].update(on_hand=limits.MAX_UNITS, safety=limits.MAX_UNITS)
    inst = routing.instance_from_dict(example)
    assert inst.locations[0].pick_cost_per_unit == limits.MAX_MONEY
    assert routing.instance_from_dict(routing.instance_to_dict(inst)) == inst


def test_file_with_json_infinity_is_refused_by_the_cli(example: dict[str, Any], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    # Python's json writes (and reads) the non-standard literal Infinity: the way such a number reaches a file.
    example["locations"][1]["pick_cost_per_unit"] = math.inf
    path = tmp_path / "instance.json"
    path.write_text(json.dumps(example))
    assert "Infinity" in path.read_text()
    with pytest.raises(routing.InvalidInstance, match=r"locations\[1\]\.pick_cost_per_unit: must be finite"):
        routing.load_instance(path)
    assert cli(["routing", "solve", str(path)]) == 2
    out = capsys.readouterr()
    assert "locations[1].pick_cost_per_unit: must be finite" in out.err and "Traceback" not in out.err
    assert out.out == ""


def _example_instance(example: dict[str, Any]) -> routing.Instance:
    return routing.instance_from_dict(example)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda i: dataclasses.replace(i, locations=(i.locations[0], dataclasses.replace(i.locations[1], pick_cost_per_unit=math.inf))),
         "locations[1].pick_cost_per_unit", "must be finite"),
        (lambda i: dataclasses.replace(i, locations=(dataclasses.replace(i.locations[0], pick_cost_per_unit=1e308), i.locations[1])),
         "locations[0].pick_cost_per_unit", "must be between 0 and 1,000,000"),
        (lambda i: dataclasses.replace(i, locations=(dataclasses.replace(i.locations[0], capacity=math.inf), i.locations[1])),
         "locations[0].capacity", "must be finite"),
        (lambda i: dataclasses.replace(i, locations=(dataclasses.replace(i.locations[0], lat=math.nan), i.locations[1])),
         "locations[0].lat", "must be finite"),
        (lambda i: dataclasses.replace(i, params=dataclasses.replace(i.params, split_penalty=math.inf)),
         "params.split_penalty", "must be finite"),
        (lambda i: dataclasses.replace(i, params=dataclasses.replace(i.params, transit_days=((math.inf, 1),))),
         "params.transit_days[0][0]", "must be finite"),
        (lambda i: dataclasses.replace(i, params=dataclasses.replace(i.params, transit_days=((600.0, 2), (150.0, 1)))),
         "params.transit_days[1][0]", "km_max must not decrease"),
        (lambda i: dataclasses.replace(i, params=dataclasses.replace(i.params, transit_days=())),
         "params.transit_days", "must be a non-empty list of [km_max, days] pairs"),
        (lambda i: dataclasses.replace(i, stock=(dataclasses.replace(i.stock[0], on_hand=-1),)),
         "stock[0].on_hand", "must be between 0 and 1,000,000,000"),
        (lambda i: dataclasses.replace(i, orders=(dataclasses.replace(i.orders[0], ship_to=(45.7, math.inf)), i.orders[1])),
         "orders[0].ship_to.lon", "must be finite"),
        (lambda i: dataclasses.replace(i, orders=(i.orders[0], dataclasses.replace(i.orders[1], lines=(routing.OrderLine("A", 0),)))),
         "orders[1].lines[0].qty", "must be between 1 and 1,000,000,000"),
        (lambda i: dataclasses.replace(i, orders=(dataclasses.replace(i.orders[0], existing_shipments=-1), i.orders[1])),
         "orders[0].existing_shipments", "must be between 0 and 1,000,000,000"),
    ],
)
def test_instance_built_in_code_is_checked(example: dict[str, Any], change: Any, field: str, message: str) -> None:
    good = _example_instance(example)
    with pytest.raises(routing.InvalidInstance) as info:
        change(good)
    assert (info.value.field, info.value.message) == (field, message)


def test_realtime_state_checks_an_order_routed_from_outside_the_instance(example: dict[str, Any]) -> None:
    state = routing.RoutingState(_example_instance(example))
    line = (routing.OrderLine("08712345678906", 1),)
    with pytest.raises(routing.InvalidInstance, match=r"order\.ship_to\.lat: must be finite"):
        state.route(routing.Order("N-1", "web", line, ship_to=(math.nan, 4.9)))
    with pytest.raises(routing.InvalidInstance, match=r"order\.lines\[0\]\.qty: must be between 1"):
        state.reserve(routing.Order("N-2", "web", (routing.OrderLine("08712345678906", 0),), ship_to=(45.7, 4.9)))
    assert state.available("ST-LYON-01", "08712345678906") == 3  # nothing was reserved
    assert state.route(routing.Order("N-3", "web", line, ship_to=(45.7, 4.9))).shipments[0].location == "ST-LYON-01"


def test_an_instance_at_the_limits_solves_to_a_finite_checked_plan() -> None:
    # The ranges are sane only if the solvers still work at their edges (CP-SAT scales costs to integers).
    base = routing.generate(120, 12, 5)
    params = routing.Params(limits.MAX_MONEY, limits.MAX_COST_PER_KM, limits.MAX_MONEY, limits.MAX_MONEY, base.params.transit_days)
    locations = tuple(dataclasses.replace(loc, pick_cost_per_unit=limits.MAX_MONEY) if i % 2 else loc for i, loc in enumerate(base.locations))
    stock = (*base.stock, routing.StockItem(base.locations[0].id, "HUGE", limits.MAX_UNITS, 0))
    orders = (*base.orders, routing.Order("BIG", "web", (routing.OrderLine("HUGE", limits.MAX_UNITS),), ship_to=(-45.0, 170.0)))
    inst = routing.Instance(params, locations, stock, orders)
    plan = routing.solve_optimal(inst, routing.Options(time_limit=5))
    report = routing.check(inst, plan)
    assert report.feasible and report.cost_agrees
    assert math.isfinite(plan.cost.total) and plan.lower_bound is not None
    assert plan.lower_bound <= plan.cost.total + 1e-6 * plan.cost.total
    assert plan.solver is not None and plan.solver.details["lp"]["status"] == "optimal"
    assert any(s.order == "BIG" and s.units == limits.MAX_UNITS for s in plan.shipments)

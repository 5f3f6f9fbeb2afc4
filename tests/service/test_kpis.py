"""GET /ops/kpis: a small day of a store's life made through the API, then every KPI recomputed here from the tables
(SQL aggregates and plain Python, not the service's code) and compared, and the figures the day must give checked."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from fulfil.models import LocationKind, RfidTag, StockLevel
from fulfil.shipments.verification import verify_station
from tests.click_and_collect import place as place_pickup
from tests.click_and_collect import tag, verified
from tests.service.flows import place


def test_every_kpi_is_what_the_tables_say(
    client: TestClient, ops: dict[str, str], auth: Callable[..., dict[str, str]], session: Session, make_location: Callable[..., Any],
    make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    store = make_location(kind=LocationKind.STORE, lat=45.0, lon=4.0, capacity_per_day=50).id
    a, b = make_product().gtin, make_product().gtin
    stock_of(store, a, 4)
    stock_of(store, b, 1)
    tags_a = tag(session, store, a, 4)
    picker = auth("picker", store)
    # A web order shipped from the store; a promised order the store cannot fill (unfilled, promise at risk, missed).
    web = place(client, ops, {a: 1})
    verified(client, picker, session, web["shipments"][0], tags_a[:1])
    assert client.post(f"/api/v1/shipments/{web['shipments'][0]['id']}/ship", headers=picker).status_code == 200
    promised = client.post("/api/v1/orders", headers=ops, json={"external_id": f"K-{since.timestamp()}", "channel": "web", "promise_days": 0,
                                                                "ship_to": {"lat": 45.05, "lon": 4.0}, "lines": [{"gtin": b, "qty": 3}]})
    assert promised.status_code == 201, promised.text
    # Click and collect: ready, collected with the code, then one unit brought back resellable.
    pickup = place_pickup(client, ops, store, {a: 2})
    verified(client, picker, session, pickup["shipments"][0], tags_a[1:3])
    sid = pickup["shipments"][0]["id"]
    assert client.post(f"/api/v1/shipments/{sid}/ready", headers=picker).status_code == 200
    code = client.get(f"/api/v1/orders/{pickup['id']}", headers=ops).json()["pickup"]["code"]
    assert client.post(f"/api/v1/shipments/{sid}/handover", headers=picker, json={"pickup_code": code}).status_code == 200
    back = client.post("/api/v1/returns", headers=picker, json={"external_id": f"KR-{sid}", "location_id": store, "order_id": pickup["id"],
                                                              "items": [{"gtin": a, "qty": 1, "grade": "resellable", "reason": "too_small"}]})
    assert back.status_code == 201, back.text
    # A parcel closed without a complete verdict (a reason given); a checkout hold still open.
    closed = place(client, ops, {a: 1})
    csid = closed["shipments"][0]["id"]
    for step in ("start", "picked"):
        assert client.post(f"/api/v1/shipments/{csid}/{step}", headers=picker).status_code == 200
    closed_pack = client.post(f"/api/v1/shipments/{csid}/pack", headers=picker, json={"station": "pack-station-1"})
    assert closed_pack.status_code == 200
    # The station saw the parcel's own tag but not its item (a dead tag): one incomplete verdict, never a complete one.
    incomplete = verify_station(session, store, "pack-station-1", [closed_pack.json()["sscc_epc"]])
    assert incomplete is not None and not incomplete.complete
    session.commit()
    assert client.post(f"/api/v1/shipments/{csid}/override", headers=picker, json={"reason": "tag unreadable"}).status_code == 200
    hold = client.post("/api/v1/promise", headers=auth("channel"), json={"lines": [{"gtin": a, "qty": 1}], "hold_seconds": 600,
                                                                          "ship_to": {"lat": 45.0, "lon": 4.0}})
    assert hold.status_code == 200 and hold.json()["hold"] is not None
    until = since + timedelta(days=1)

    answer = client.get("/api/v1/ops/kpis", headers=ops, params={"since": since.isoformat()})  # one day from since
    assert answer.status_code == 200, answer.text
    k = answer.json()
    window = {"s": since, "u": until}

    # Orders: what this test made, and the same from the tables.
    orders = session.execute(text("SELECT id, created_at, promise_days FROM orders WHERE created_at >= :s AND created_at < :u"), window).all()
    ids = [o.id for o in orders]
    assert k["orders"]["received"] == len(orders) >= 4
    in_force = session.execute(text("SELECT order_id, cost, location_ids, explanation, tag_text FROM routing_decisions "
                                    "WHERE superseded_at IS NULL")).all()
    in_force = [d for d in in_force if d.order_id in ids]
    assert k["orders"]["decided"] == len(in_force)
    assert abs(k["orders"]["cost_per_order"] - statistics.fmean(d.cost for d in in_force)) < 1e-3
    assert k["orders"]["split_orders"] == sum(1 for d in in_force if len(set(_json(d.location_ids))) > 1) == 0
    assert k["orders"]["unfilled_units"] == sum(sum(_json(d.explanation).get("unfilled", {}).values()) for d in in_force) == 3  # promise 0 days: no one can deliver today

    # Promises: the promised order never left (nothing to ship) and its day has passed: missed, and at risk.
    assert (k["promises"]["promised"], k["promises"]["missed"], k["promises"]["at_risk"]) == (1, 1, 1)

    # Picking, per serving location: first picking -> first picked event of each shipment picked in the period.
    rows = session.execute(text(
        "SELECT e.shipment_id, e.kind, MIN(e.occurred_at) AS at, s.location_id FROM domain_events e JOIN shipments s ON s.id = e.shipment_id "
        "WHERE e.kind IN ('shipment.picking', 'shipment.picked') GROUP BY e.shipment_id, e.kind, s.location_id")).all()
    times: dict[int, dict[str, datetime]] = defaultdict(dict)
    where: dict[int, str] = {}
    for r in rows:
        times[r.shipment_id][r.kind] = _utc(r.at)
        where[r.shipment_id] = r.location_id
    minutes: dict[str, list[float]] = defaultdict(list)
    for shipment_id, t in times.items():
        if "shipment.picked" in t and "shipment.picking" in t and since <= t["shipment.picked"] < until:
            minutes[where[shipment_id]].append((t["shipment.picked"] - t["shipment.picking"]).total_seconds() / 60)
    mine = next(p for p in k["picking"] if p["location_id"] == store)
    assert mine["count"] == len(minutes[store]) == 3 and abs(mine["mean"] - statistics.fmean(minutes[store])) < 1e-3

    # Click and collect: one ready and collected, none expired.
    cc = k["click_and_collect"]
    assert (cc["ready"], cc["collected"], cc["expired"], cc["no_show_rate"]) == (1, 1, 0, 0.0)
    ready_at = session.execute(text("SELECT MIN(occurred_at) FROM domain_events WHERE kind = 'pickup.ready' AND shipment_id = :s"), {"s": sid}).scalar()
    created = session.execute(text("SELECT created_at FROM orders WHERE id = :o"), {"o": pickup["id"]}).scalar()
    assert abs(cc["ready_minutes"]["mean"] - (_utc(ready_at) - _utc(created)).total_seconds() / 60) < 1e-3

    # Returns: one, one unit, resellable, back on sale in the same transaction.
    r = k["returns"]
    assert (r["returns"], r["units"], r["resellable_units"], r["damaged_units"]) == (1, 1, 1, 0)
    assert r["restock_minutes"]["count"] == 1 and r["restock_minutes"]["mean"] < 0.1

    # Verification: the verdicts of the period from their table; one override from the journal.
    verdicts = session.execute(text("SELECT complete FROM parcel_verifications WHERE created_at >= :s AND created_at < :u"), window).scalars().all()
    assert k["verification"]["verdicts"] == len(verdicts) == 3 and k["verification"]["incomplete"] == sum(1 for c in verdicts if not c) == 1
    parcels = session.execute(text("SELECT shipment_id, parcel_id, MAX(CASE WHEN complete THEN 1 ELSE 0 END) FROM parcel_verifications "
                                   "WHERE created_at >= :s AND created_at < :u GROUP BY shipment_id, parcel_id"), window).all()
    failed = sum(1 for p in parcels if not p[2])
    assert (k["verification"]["parcels"], k["verification"]["parcels_failed"]) == (len(parcels), failed) == (3, 1)
    assert k["verification"]["failure_rate"] == failed / len(parcels)
    assert k["verification"]["overrides"] == 1

    # Stock accuracy: tags on hand against on_hand for the tagged pairs.
    tagged: dict[tuple[str, str], int] = defaultdict(int)
    for loc, gtin in session.execute(select(RfidTag.location_id, RfidTag.gtin).where(
            RfidTag.state.in_(["in_stock", "reserved", "picked", "packed"]), RfidTag.location_id.is_not(None), RfidTag.gtin.is_not(None))):
        tagged[(loc, gtin)] += 1
    levels = {(lvl.location_id, lvl.gtin): lvl.on_hand for lvl in session.scalars(select(StockLevel))}
    total = sum(levels.get(p, 0) for p in tagged)
    expected = max(0.0, 1 - sum(abs(n - levels.get(p, 0)) for p, n in tagged.items()) / total) if total else None
    assert k["stock_accuracy"]["pairs"] == len(tagged) and k["stock_accuracy"]["accuracy"] == expected

    # Holds and webhooks of the period, by status.
    holds = dict(session.execute(text("SELECT status, COUNT(*) FROM stock_holds WHERE created_at >= :s AND created_at < :u GROUP BY status"), window).all())
    assert k["holds"]["created"] == sum(holds.values()) >= 1 and k["holds"]["active"] == holds.get("active", 0) >= 1
    deliveries = session.execute(select(func.count()).select_from(text("webhook_deliveries")).where(
        text("created_at >= :s AND created_at < :u")), window).scalar()
    assert k["webhooks"]["deliveries"] == deliveries
    assert set(k["definitions"]) >= {"orders.split_rate", "promises.missed", "stock_accuracy", "webhooks.success_rate"}


def test_a_period_is_bounded_and_zoned(client: TestClient, ops: dict[str, str]) -> None:
    today = client.get("/api/v1/ops/kpis", headers=ops)
    assert today.status_code == 200 and today.json()["since"].startswith(datetime.now(UTC).date().isoformat())
    week = client.get("/api/v1/ops/kpis", headers=ops, params={"since": "2026-12-01T00:00:00+01:00", "days": 7}).json()
    assert (week["since"], week["until"]) == ("2026-11-30T23:00:00Z", "2026-12-07T23:00:00Z")
    for params in ({"since": "2026-12-01T00:00:00"}, {"since": "0"}, {"days": 0}, {"days": 32}):
        assert client.get("/api/v1/ops/kpis", headers=ops, params=params).status_code == 422, params


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else (value or {})


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)

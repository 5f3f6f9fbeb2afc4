"""The ops console's map of one day: every active location where it is, and a line from each location that
fulfils an order (decisions in force made that day) to where the order goes (the customer's address, or the
pickup store), over the countries' outlines (fulfil.ops.geo). Built on the server as SVG coordinates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.models import Order
from fulfil.ops import geo
from fulfil.routing_runs import repository as routing_repository

MAX_LINES = 2000


def day_map(session: Session, places: Sequence[Any], since: datetime, now: datetime) -> dict[str, Any]:
    """`places`: the active locations (rows with id, name, kind, lat, lon, paused_until), as the console read them."""
    where: dict[str, tuple[float, float]] = {p.id: (p.lon, p.lat) for p in places}
    decisions = routing_repository.find_decisions(session, location_id=None, since=since, until=since + timedelta(days=1), tags=[],
                                                  current_only=True, before_id=None, limit=MAX_LINES)
    orders = {o.id: o for o in session.scalars(select(Order).where(Order.id.in_({d.order_id for d in decisions})))} if decisions else {}
    trips: list[dict[str, Any]] = []
    ends: list[tuple[float, float]] = []  # where the trips go, for the view
    for d in decisions:
        order = orders.get(d.order_id)
        if order is None:
            continue
        if order.pickup_location_id in where:
            to = where[order.pickup_location_id]
        elif order.ship_to_lat is not None and order.ship_to_lon is not None:
            to = (order.ship_to_lon, order.ship_to_lat)
        else:
            continue
        for location_id in d.location_ids:
            if location_id in where:
                ends.append(to)
                trips.append({"order_id": d.order_id, "from_id": location_id, "from": where[location_id], "to": to, "tags": d.tags,
                              "pickup": order.pickup_location_id is not None})
    view = geo.view_around([*where.values(), *ends])
    markers = [{"id": p.id, "name": p.name, "kind": p.kind.value, "xy": view.project(p.lon, p.lat),
                "paused": p.paused_until is not None and p.paused_until > now} for p in places]
    lines = [{**t, "a": view.project(*t["from"]), "b": view.project(*t["to"])} for t in trips]
    return {"width": view.width, "height": round(view.height, 1), "countries": geo.countries_in(view), "markers": markers, "lines": lines}

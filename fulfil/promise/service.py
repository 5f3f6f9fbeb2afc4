"""Quoting a basket: the delivery and pickup options the network can keep, with dates, cost and the locations that
would serve them, routed by the real-time router against the same state order intake uses.

- Delivery (`ship_to`): `delivery:standard`, the cheapest plan by the cost model, and `delivery:fastest` when a
  plan that arrives earlier exists (the router asked again with a tighter promise). Dates follow each location's
  cut-off, opening days and handling days, then the transit band (fulfil.promise.calendar).
- Pickup (`pickup_near`, `pickup_location_id`): one option per store that can have the whole basket, nearest first:
  from its own shelves it is ready `pickup_ready_minutes` of opening time from now; otherwise when the transfer
  arrives (ship to store), that much opening time after the store opens that day.

Only complete options are offered; units no delivery can cover are listed as the shortfall. A quote reserves
nothing; promise() with `hold_seconds` turns one option into a hold (fulfil.holds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session

import routing
from fulfil.availability.service import nearest_stores
from fulfil.catalog import repository as catalog
from fulfil.config import Settings
from fulfil.auth.service import Principal
from fulfil.errors import Conflict, InsufficientStock, NotFound
from fulfil.holds import service as holds
from fulfil.locations.index import LocationIndex, Place, Snapshot
from fulfil.models import LocationKind
from fulfil.promise import calendar
from fulfil.promise.schemas import ParcelLine, ParcelQuote, PromiseOption, PromiseRequest, PromiseResult, Shortfall, StoreInfo
from fulfil.routing_runs.service import network_state

QUOTE_ID = "quote"


@dataclass(frozen=True)
class Quote:
    """The options of a basket (best first per method) and what delivery cannot cover."""

    options: list[PromiseOption]
    shortfall: list[Shortfall]
    basket: dict[str, int]


def quote(session: Session, data: PromiseRequest, settings: Settings, now: datetime, index: LocationIndex) -> Quote:
    """Every option the network can keep for the basket right now (404 naming unknown products or stores)."""
    basket = data.basket()
    places = index.current(session)
    state = network_state(session, settings, set(basket), places)
    # A product with a unit somewhere is in the catalog (stock rows reference it): ask the catalog about the others.
    unseen = {g for g in basket if g not in state.net.holders}
    missing = catalog.missing(session, unseen)
    if missing:
        raise NotFound("unknown products", details=[{"field": "lines", "message": f"unknown product {g}"} for g in basket if g in missing])
    stores = _pickup_stores(places, data)
    lines = tuple(routing.OrderLine(g, q) for g, q in basket.items())
    options: list[PromiseOption] = []
    shortfall: list[Shortfall] = []
    decisions: list[tuple[str, routing.Decision, Place | None, float | None]] = []
    if data.ship_to is not None:
        standard = state.route(routing.Order(QUOTE_ID, "web", lines, ship_to=(data.ship_to.lat, data.ship_to.lon)))
        if standard.unfilled:
            shortfall = [Shortfall(gtin=g, qty=q) for g, q in standard.unfilled.items()]
        else:
            decisions.append(("delivery:standard", standard, None, None))
            fastest = _faster(state, lines, (data.ship_to.lat, data.ship_to.lon), standard)
            if fastest is not None:
                decisions.append(("delivery:fastest", fastest, None, None))
    for pickup_store, distance in stores:
        decision = state.route(routing.Order(QUOTE_ID, "web", lines, pickup_at=pickup_store.id))
        if not decision.unfilled and decision.shipments:
            decisions.append((f"pickup:{pickup_store.id}", decision, pickup_store, distance))
    for option_id, decision, store, distance in decisions:
        option = _option(option_id, decision, store, distance, places, state, settings, now)
        if option is not None:
            options.append(option)
    delivery = [o for o in options if o.method == "delivery"]
    if len(delivery) == 2 and not (delivery[1].earliest_delivery and delivery[0].earliest_delivery and delivery[1].earliest_delivery < delivery[0].earliest_delivery):
        options.remove(delivery[1])  # not faster by the calendar: not worth offering
    return Quote(options, shortfall, basket)


def _faster(state: routing.RoutingState, lines: tuple[routing.OrderLine, ...], ship_to: tuple[float, float], standard: routing.Decision) -> routing.Decision | None:
    """The cheapest complete plan that arrives sooner than `standard` (in the router's days), if any."""
    slowest = max(s.delivery_days for s in standard.shipments)
    # Only the day counts some location can make: between two of them the router would see the same locations.
    every = state.net.compile(routing.Order(QUOTE_ID, "web", lines, ship_to=ship_to))
    for days in sorted({arc.days for arc in every.arcs if arc.days < slowest}):
        decision = state.route(routing.Order(QUOTE_ID, "web", lines, ship_to=ship_to, promise_days=days))
        if not decision.unfilled and decision.shipments:
            return decision
    return None


def _pickup_stores(places: Snapshot, data: PromiseRequest) -> list[tuple[Place, float | None]]:
    """The stores to quote pickup at: the one named (404 unknown or inactive, 409 not a store), then the nearest
    ones to `pickup_near`."""
    chosen: list[tuple[Place, float | None]] = []
    if data.pickup_location_id is not None:
        store = places.by_id.get(data.pickup_location_id)
        if store is None:
            raise NotFound(f"location {data.pickup_location_id} not found or inactive", details={"location_id": data.pickup_location_id})
        if store.kind is not LocationKind.STORE:
            raise Conflict(f"{store.id} is a {store.kind.value}, not a store", details={"location_id": store.id}, code="not_a_store")
        chosen.append((store, None))
    if data.pickup_near is not None:
        near = data.pickup_near
        found = nearest_stores(places, near.lat, near.lon, near.radius_km)
        chosen += [(store, distance) for store, distance in found[: near.max_stores] if store.id != data.pickup_location_id]
    return chosen


def _hours(place: Place, places: Snapshot, settings: Settings) -> calendar.Hours:
    """A location's calendar, built once per locations revision."""
    cutoff = place.cutoff_time or settings.cutoff_time
    return places.memo(("hours", place.id, cutoff), lambda: calendar.hours_of(place.opening_hours, place.timezone, cutoff))


def _option(
    option_id: str, decision: routing.Decision, store: Place | None, distance: float | None, places: Snapshot,
    state: routing.RoutingState, settings: Settings, now: datetime,
) -> PromiseOption | None:
    """An option with its dates; None when a location it needs does not open within the calendar's lookahead."""
    parcels = []
    for shipment in decision.shipments:
        hours = _hours(places.by_id[shipment.location], places, settings)
        own = store is not None and shipment.location == store.id
        handling = state.net.by_id[shipment.location].handling_days
        dispatch = calendar.dispatch_day(hours, now, handling)
        arrival = None if own or dispatch is None else dispatch + timedelta(days=shipment.delivery_days - handling)
        if dispatch is None:
            return None
        parcels.append(ParcelQuote(
            location_id=shipment.location, lines=[ParcelLine(gtin=ln.sku, qty=ln.qty) for ln in shipment.lines],
            dispatch_date=None if own else dispatch, arrival_date=arrival,
        ))
    common = {
        "option_id": option_id, "cost": round(decision.cost, 2), "split": len(parcels) > 1,
        "locations": [p.location_id for p in parcels], "parcels": parcels,
    }
    if store is None:
        arrivals = [p.arrival_date for p in parcels if p.arrival_date is not None]
        return PromiseOption(method="delivery", earliest_delivery=max(arrivals) if arrivals else None, **common)
    hours = _hours(store, places, settings)
    own_only = all(p.location_id == store.id for p in parcels)
    prepare = timedelta(minutes=settings.pickup_ready_minutes)
    if own_only:
        ready = calendar.ready_at(hours, now, prepare)
    else:
        arrival = max(p.arrival_date for p in parcels if p.arrival_date is not None)
        ready = calendar.ready_at(hours, max(now, datetime.combine(arrival, time.min, hours.zone)), prepare)
    if ready is None:
        return None
    info = StoreInfo(
        id=store.id, name=store.name, address=store.address, opening_hours=store.opening_hours, timezone=store.timezone,
        distance_km=None if distance is None else round(distance, 3),
    )
    return PromiseOption(
        method="pickup", store=info, ready_at=ready, ready_label="ready " + calendar.label(ready, now, hours.zone), from_store_stock=own_only, **common,
    )


def promise(session: Session, data: PromiseRequest, principal: Principal, settings: Settings, now: datetime, index: LocationIndex) -> PromiseResult:
    """Quote the basket and, with `hold_seconds`, hold one option. When a racing checkout takes a unit between the
    quote and the hold, the basket is quoted again (up to `routing_realtime_retries` times): the hold is made on
    what is really there, or refused with the options that remain."""
    for _attempt in range(settings.routing_realtime_retries):
        found = quote(session, data, settings, now, index)
        if data.hold_seconds is None:
            return PromiseResult(quoted_at=now, options=found.options, delivery_shortfall=found.shortfall, hold=None)
        option = _held_option(found, data.hold_option)
        try:
            with session.begin_nested():
                hold = holds.create(
                    session, principal, option, found.basket, seconds=data.hold_seconds, max_seconds=settings.hold_max_seconds, now=now,
                    ship_to=(data.ship_to.lat, data.ship_to.lon) if data.ship_to is not None else None,
                )
        except InsufficientStock:
            session.expire_all()
            continue
        return PromiseResult(quoted_at=now, options=found.options, delivery_shortfall=found.shortfall, hold=holds.read(hold))
    raise Conflict("stock kept changing while holding this basket; try again", code="hold_contention")


def _held_option(found: Quote, wanted: str | None) -> PromiseOption:
    """The option to hold: the one asked for, else the first; 409 when it cannot be kept (the details list those that can)."""
    for option in found.options:
        if wanted is None or option.option_id == wanted:
            return option
    remaining = [o.option_id for o in found.options]
    if wanted is None:
        raise Conflict(
            "nothing to hold: no option can serve the whole basket", code="insufficient_stock",
            details={"options": remaining, "delivery_shortfall": [s.model_dump() for s in found.shortfall]},
        )
    raise Conflict(f"option {wanted} cannot be kept now", code="option_unavailable", details={"option_id": wanted, "options": remaining})

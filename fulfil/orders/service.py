"""Order intake and reading. Intake is idempotent by the client's order id."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fulfil import money
from fulfil.auth.service import Principal
from fulfil.catalog import repository as catalog
from fulfil.config import Settings
from fulfil.errors import Conflict, Forbidden, InvalidInput, NotFound
from fulfil.holds import service as holds
from fulfil.journal import service as journal
from fulfil.models.base import utcnow
from fulfil.models import Channel, Location, LocationKind, Order, OrderLine, OrderStatus, Role
from fulfil.orders import repository
from fulfil.orders.schemas import OrderCreate
from fulfil.pickups import codes
from fulfil.routing_runs import service as routing_service
from fulfil.tracking import tokens as tracking_tokens


@dataclass(frozen=True)
class Intake:
    """An order after intake; `created` is False when the same request had already been taken."""

    order: Order
    created: bool


def request_hash(data: OrderCreate) -> str:
    """A fingerprint of the order as posted, to tell a retry from a reused id. A currency or unit price not given
    is left out, so an order without prices has the fingerprint it had before prices existed (its retries replay)."""
    body = data.model_dump(mode="json")
    for optional in ("currency", "hold_id"):
        if body.get(optional) is None:
            body.pop(optional, None)
    for line in body["lines"]:
        if line.get("unit_price") is None:
            line.pop("unit_price", None)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def take_in(session: Session, data: OrderCreate, principal: Principal, settings: Settings) -> Intake:
    """The one way an order enters Fulfil (API, seed, demo, channels): taken in and routed in the same transaction,
    so its stock is reserved before anyone else can promise it. A retry returns the first order, unchanged."""
    intake = create_order(session, data, principal)
    if not intake.created:
        return intake
    if data.hold_id is not None:
        _check_destination(session, data, principal)
        hold = holds.consume(session, data.hold_id, principal, intake.order.id, utcnow())
        held = [(line.location_id, line.gtin, line.qty) for line in hold.lines]
        routing_service.route_from_hold(session, intake.order.id, held, settings, principal.label, hold.public_id, float(hold.quote.get("cost", 0.0)))
    else:
        routing_service.route_new_order(session, intake.order.id, settings, principal.label)
    order = repository.get_full(session, intake.order.id)
    assert order is not None
    return Intake(order, created=True)


def _check_destination(session: Session, data: OrderCreate, principal: Principal) -> None:
    """An order keeps the kind of promise its hold was made for: delivery for a delivery hold, pickup at the held
    store for a pickup hold (409 `hold_mismatch`)."""
    assert data.hold_id is not None
    hold = holds.get(session, data.hold_id, principal)
    if hold.pickup_location_id != data.pickup_location_id:
        held_for = f"pickup at {hold.pickup_location_id}" if hold.pickup_location_id else "home delivery"
        raise Conflict(
            f"hold {hold.public_id} was made for {held_for}", code="hold_mismatch",
            details={"hold_id": hold.public_id, "option_id": hold.option, "pickup_location_id": hold.pickup_location_id},
        )


def create_order(session: Session, data: OrderCreate, principal: Principal) -> Intake:
    """Record an order without routing it (take_in() is the entry point); a retried POST returns the first order,
    a reused id with another body is a conflict."""
    data = _scoped(data, principal)
    fingerprint = request_hash(data)
    existing = repository.get_by_external_id(session, data.external_id)
    if existing is not None:
        return _replay(session, existing, fingerprint, principal)
    _validate_references(session, data)
    _validate_prices(data)
    for attempt in range(1, codes.ATTEMPTS + 1):
        order = _new_order(data, fingerprint, principal.token_id or None)  # 0: an internal caller (seed, tests)
        try:
            with session.begin_nested():  # a concurrent retry of the same id loses the race here, not the transaction
                session.add(order)
                session.flush()
            break
        except IntegrityError:
            winner = repository.get_by_external_id(session, data.external_id)
            if winner is not None:
                return _replay(session, winner, fingerprint, principal)
            if order.pickup_code is None or attempt == codes.ATTEMPTS:
                raise
            # Another order holds this pickup code: draw another.
    loaded = repository.get_full(session, order.id)
    assert loaded is not None
    return Intake(loaded, created=True)


def _new_order(data: OrderCreate, fingerprint: str, token_id: int | None) -> Order:
    """The order row for a request: every order gets a tracking token, a click-and-collect order a fresh pickup code."""
    return Order(
        external_id=data.external_id,
        channel=data.channel,
        customer_ref=data.customer_ref,
        ship_to=data.ship_to.model_dump() if data.ship_to else None,
        ship_to_lat=data.ship_to.lat if data.ship_to else None,
        ship_to_lon=data.ship_to.lon if data.ship_to else None,
        pickup_location_id=data.pickup_location_id,
        origin_location_id=data.origin_location_id,
        promise_days=data.promise_days,
        currency=data.currency,
        pickup_code=codes.new_code() if data.pickup_location_id else None,
        tracking_token=tracking_tokens.new_token(),
        request_hash=fingerprint,
        token_id=token_id,
        lines=[OrderLine(line_no=i + 1, gtin=line.gtin, qty=line.qty, unit_price=line.unit_price) for i, line in enumerate(data.lines)],
    )


def _replay(session: Session, existing: Order, fingerprint: str, principal: Principal) -> Intake:
    """The same order posted again, or a conflict; a scoped token or a channel learns nothing about an order it may
    not see (the id is merely taken)."""
    if not visible_to(session, existing, principal):
        raise Conflict(
            f"order id {existing.external_id} is already taken: choose another",
            details={"external_id": existing.external_id},
            code="idempotency_conflict",
        )
    if existing.request_hash != fingerprint:
        raise Conflict(
            f"order id {existing.external_id} was already used for a different order",
            details={"external_id": existing.external_id, "order_id": existing.id},
            code="idempotency_conflict",
        )
    return Intake(existing, created=False)


def visible_to(session: Session, order: Order, principal: Principal) -> bool:
    """Whether the caller may see the order: ops any, a picker those its store took, serves or hands over, a channel
    those it placed."""
    if principal.role is Role.CHANNEL:
        return order.token_id == principal.token_id
    if principal.location_id is not None:
        return repository.touches_location(session, order.id, principal.location_id)
    return True


def _scoped(data: OrderCreate, principal: Principal) -> OrderCreate:
    """A picker takes store orders for its own store only (endless aisle, click and collect); a channel (web shop,
    app) takes web orders only."""
    if principal.role is Role.CHANNEL:
        if data.channel is not Channel.WEB or data.origin_location_id is not None:
            raise Forbidden("a channel token may only place web orders (no origin store)", details={"channel": data.channel.value})
        return data
    if principal.role is not Role.PICKER:
        return data
    if data.channel is not Channel.STORE:
        raise Forbidden("a picker token may only take store-channel orders", details={"channel": data.channel.value})
    if data.origin_location_id not in (None, principal.location_id):
        raise Forbidden(f"this token is scoped to {principal.location_id}", details={"origin_location_id": data.origin_location_id})
    return data.model_copy(update={"origin_location_id": principal.location_id})


def _validate_references(session: Session, data: OrderCreate) -> None:
    """Every record the order names exists (404 naming each that does not) and is a store where a store is meant
    (409: the location exists but is something else)."""
    unknown: list[dict[str, str]] = []
    unsuitable: list[dict[str, str]] = []
    for field, location_id in (("pickup_location_id", data.pickup_location_id), ("origin_location_id", data.origin_location_id)):
        if location_id is None:
            continue
        location = session.get(Location, location_id)
        if location is None:
            unknown.append({"field": f"body.{field}", "message": f"unknown location {location_id}"})
        elif location.kind is not LocationKind.STORE:
            unsuitable.append({"field": f"body.{field}", "message": f"{location_id} is not a store"})
    missing = catalog.missing(session, {line.gtin for line in data.lines})
    for i, line in enumerate(data.lines):
        if line.gtin in missing:
            unknown.append({"field": f"body.lines.{i}.gtin", "message": f"unknown product {line.gtin}"})
    if unknown:
        raise NotFound("the order refers to records that do not exist", details=unknown)
    if unsuitable:
        raise Conflict("the order names a location that cannot serve as a store", details=unsuitable, code="not_a_store")


def _validate_prices(data: OrderCreate) -> None:
    """One price per product (a line has one unit price, and a return refunds by it), and what the priced lines are
    worth fits a total (Numeric(14, 2)), so any refund of them can be recorded. 422 naming the field."""
    first: dict[str, int] = {}
    for i, line in enumerate(data.lines):
        earlier = first.setdefault(line.gtin, i)
        if earlier != i:  # the schema merged lines of one price: these differ
            raise InvalidInput(
                f"lines of GTIN {line.gtin} carry different unit prices ({data.lines[earlier].unit_price} and {line.unit_price}): "
                "one product has one price per order",
                details=[{"field": "body.lines", "message": f"GTIN {line.gtin} at different unit prices: one price per product",
                          "type": "price_conflict"}],
            )
    worth = money.total((line.qty, line.unit_price) for line in data.lines if line.unit_price is not None)
    if worth is not None and worth > money.MAX_TOTAL:
        raise InvalidInput(
            f"the order's priced lines are worth {worth} {data.currency}, more than {money.MAX_TOTAL}",
            details=[{"field": "body.lines", "message": f"sum of qty x unit_price may not exceed {money.MAX_TOTAL}", "type": "total_too_large"}],
        )


def get_order(session: Session, order_id: int, principal: Principal) -> Order:
    """An order with its shipments; a picker sees only orders its store took, serves or hands over."""
    order = repository.get_full(session, order_id)
    if order is None:
        raise NotFound(f"order {order_id} not found", details={"order_id": order_id})
    if not visible_to(session, order, principal):
        # Same answer as a missing order: a store or channel must not learn which order ids exist elsewhere.
        raise NotFound(f"order {order_id} not found", details={"order_id": order_id})
    return order


FINISHED = (OrderStatus.SHIPPED, OrderStatus.COLLECTED, OrderStatus.CANCELLED)


def hold(session: Session, order_id: int, reason: str, until: datetime | None, principal: Principal) -> Order:
    """Ops hold an order (a fraud check, the customer asked to wait): no picking starts and nothing ships until
    `until` (or until released); its stock stays reserved where it is. Holding a held order again changes its reason
    and end. An order that has left or was cancelled cannot be held (409 `order_finished`)."""
    order = get_order(session, order_id, principal)
    if order.status in FINISHED:
        raise Conflict(f"order {order.id} is {order.status.value}: there is nothing left to hold", code="order_finished",
                       details={"order_id": order.id, "status": order.status.value})
    now = utcnow()
    if until is not None and until <= now:  # the clock is the server's state: a time already gone conflicts with it
        raise Conflict(f"the hold would end at {until.isoformat()}, which has passed: give a time to come", code="hold_already_over",
                       details={"until": until.isoformat(), "now": now.isoformat()})
    order.held_at = order.held_at if order.on_hold(now) else now
    order.held_until, order.hold_reason = until, reason
    journal.record(session, "order.held", locations=_concerned(order), order_id=order.id, reason=reason,
                   until=until.isoformat() if until else None, actor=principal.label)
    session.flush()
    return order


def release_hold(session: Session, order_id: int, principal: Principal) -> Order:
    """The hold ends now; releasing an order that is not held changes nothing."""
    order = get_order(session, order_id, principal)
    if order.held_at is None:
        return order
    order.held_at = order.held_until = order.hold_reason = None
    journal.record(session, "order.hold_released", locations=_concerned(order), order_id=order.id, actor=principal.label)
    session.flush()
    return order


def _concerned(order: Order) -> list[str | None]:
    """The stores that see the order's events (its pickup store, the store that took it, where it is prepared)."""
    return [order.pickup_location_id or order.origin_location_id, None]

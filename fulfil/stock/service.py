"""Stock workflows. Every change goes through move(): one guarded UPDATE plus one event, exactly once per key."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fulfil.errors import Conflict, InsufficientStock, InvalidInput, NotFound
from fulfil.models import Location, Product, StockCause, StockEvent, StockEventKind
from fulfil.stock import repository
from fulfil.stock.rules import available
from fulfil.stock.schemas import AdjustmentReason
from fulfil.webhooks import outbox


@dataclass(frozen=True)
class Cause:
    """Why stock moved: who or what did it, for which order, shipment, reader, zone or tag."""

    cause: StockCause
    actor: str | None = None
    order_id: int | None = None
    shipment_id: int | None = None
    hold_id: int | None = None
    reader_id: str | None = None
    zone: str | None = None
    epc: str | None = None
    reason: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Moved:
    """The event of a change and whether this call created it (False: an earlier call with the same key did)."""

    event: StockEvent
    created: bool


def move(
    session: Session,
    location_id: str,
    gtin: str,
    kind: StockEventKind,
    cause: Cause,
    *,
    on_hand_delta: int = 0,
    reserved_delta: int = 0,
    safety_delta: int = 0,
    quarantine_delta: int = 0,
    require_available: bool = False,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
) -> Moved:
    """Apply one stock change and log it; refuse it (InsufficientStock) rather than break a stock rule."""
    if idempotency_key is not None:
        existing = repository.find_event_by_key(session, idempotency_key)
        if existing is not None:
            return Moved(existing, created=False)
    if on_hand_delta > 0 or safety_delta > 0 or quarantine_delta > 0:
        repository.ensure_level(session, location_id, gtin)
    try:
        # A savepoint, so that losing a race on the idempotency key also undoes the UPDATE.
        with session.begin_nested():
            after = repository.apply_change(
                session,
                location_id,
                gtin,
                on_hand_delta=on_hand_delta,
                reserved_delta=reserved_delta,
                safety_delta=safety_delta,
                quarantine_delta=quarantine_delta,
                min_available_after=0 if require_available else None,
            )
            if after is None:
                raise _refusal(session, location_id, gtin, kind, on_hand_delta, reserved_delta, safety_delta)
            outbox.stock_moved(session, location_id, gtin, on_hand=after.on_hand, reserved=after.reserved, safety=after.safety,
                               on_hand_delta=on_hand_delta, reserved_delta=reserved_delta, safety_delta=safety_delta)
            event = StockEvent(
                location_id=location_id,
                gtin=gtin,
                kind=kind,
                cause=cause.cause,
                on_hand_delta=on_hand_delta,
                reserved_delta=reserved_delta,
                safety_delta=safety_delta,
                quarantine_delta=quarantine_delta,
                on_hand_after=after.on_hand,
                reserved_after=after.reserved,
                safety_after=after.safety,
                quarantined_after=after.quarantined,
                order_id=cause.order_id,
                shipment_id=cause.shipment_id,
                hold_id=cause.hold_id,
                reader_id=cause.reader_id,
                zone=cause.zone,
                epc=cause.epc,
                reason=cause.reason,
                note=cause.note,
                actor=cause.actor,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
            )
            session.add(event)
            session.flush()
    except IntegrityError:
        if idempotency_key is None:
            raise
        existing = repository.find_event_by_key(session, idempotency_key)
        if existing is None:
            raise
        return Moved(existing, created=False)
    return Moved(event, created=True)


def _refusal(
    session: Session, location_id: str, gtin: str, kind: StockEventKind, d_on_hand: int, d_reserved: int, d_safety: int
) -> InsufficientStock:
    level = repository.get_level(session, location_id, gtin)
    if level is None:
        return InsufficientStock(
            f"no stock of {gtin} at {location_id}", details={"location_id": location_id, "gtin": gtin, "available": 0}
        )
    session.refresh(level)
    return InsufficientStock(
        f"{kind.value} refused: it would break a stock rule for {gtin} at {location_id}",
        details={
            "location_id": location_id,
            "gtin": gtin,
            "on_hand": level.on_hand,
            "reserved": level.reserved,
            "safety": level.safety,
            "available": available(level.on_hand, level.reserved, level.safety),
            "requested": {"on_hand_delta": d_on_hand, "reserved_delta": d_reserved, "safety_delta": d_safety},
        },
    )


def reserve(session: Session, location_id: str, gtin: str, qty: int, cause: Cause, *, idempotency_key: str | None = None) -> Moved:
    """Hold `qty` units for an order; never drives available below zero, even under concurrent calls."""
    _positive(qty)
    return move(
        session, location_id, gtin, StockEventKind.RESERVATION, cause,
        reserved_delta=qty, require_available=True, idempotency_key=idempotency_key,
    )


def release(session: Session, location_id: str, gtin: str, qty: int, cause: Cause, *, idempotency_key: str | None = None) -> Moved:
    """Give back `qty` reserved units (order cancelled, shipment rejected or re-routed)."""
    _positive(qty)
    return move(session, location_id, gtin, StockEventKind.RELEASE, cause, reserved_delta=-qty, idempotency_key=idempotency_key)


def consume_reserved(
    session: Session, location_id: str, gtin: str, qty: int, kind: StockEventKind, cause: Cause, *, idempotency_key: str | None = None
) -> Moved:
    """Reserved units leave the location (shipped, sold): on_hand and reserved both fall by `qty`."""
    _positive(qty)
    return move(session, location_id, gtin, kind, cause, on_hand_delta=-qty, reserved_delta=-qty, idempotency_key=idempotency_key)


def adjust(
    session: Session,
    location_id: str,
    gtin: str,
    cause: Cause,
    *,
    delta: int | None = None,
    set_on_hand: int | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
) -> Moved:
    """Change on-hand stock by `delta`, or set it to a counted `set_on_hand`; never below what is reserved.
    With an idempotency key, `request_hash` tells a retry (the earlier result) from the key reused (Conflict)."""
    _known(session, location_id, gtin)
    if (delta is None) == (set_on_hand is None):
        raise InvalidInput("give exactly one of delta or set_on_hand", details=[{"field": "delta", "message": "one of delta, set_on_hand"}])
    if set_on_hand is not None:
        level = repository.get_level(session, location_id, gtin)
        current = level.on_hand if level is not None else 0
        delta = set_on_hand - current
        if delta == 0 and idempotency_key is None:
            # Record the count anyway: a count that confirms the books is a fact worth keeping.
            repository.ensure_level(session, location_id, gtin)
    assert delta is not None
    kind = StockEventKind.RECEIPT if cause.reason == AdjustmentReason.RECEIPT else StockEventKind.ADJUSTMENT
    try:
        moved = move(session, location_id, gtin, kind, cause, on_hand_delta=delta, idempotency_key=idempotency_key, request_hash=request_hash)
        if not moved.created:  # the key was used before (or by a concurrent request that won the race)
            _same_adjustment(moved.event, request_hash)
        return moved
    except InsufficientStock as exc:
        raise Conflict(
            "adjustment refused: on-hand stock cannot fall below zero or below what is reserved for orders",
            details=exc.details,
            code="insufficient_stock",
        ) from exc


def _same_adjustment(earlier: StockEvent, request_hash: str | None) -> None:
    """A retry repeats the adjustment its key was first used for; the key reused for another one is a conflict."""
    if earlier.request_hash != request_hash:
        raise Conflict(
            "this Idempotency-Key was already used for a different adjustment: use a new key for a new adjustment",
            details={"event_id": earlier.id},
            code="idempotency_conflict",
        )


def set_safety(session: Session, location_id: str, gtin: str, safety: int, cause: Cause) -> Moved:
    """Set the units held back for walk-in customers at a location."""
    _known(session, location_id, gtin)
    if safety < 0:
        raise InvalidInput("safety must be >= 0", details=[{"field": "safety", "message": "must be >= 0"}])
    repository.ensure_level(session, location_id, gtin)
    level = repository.get_level(session, location_id, gtin)
    assert level is not None
    session.refresh(level)
    return move(session, location_id, gtin, StockEventKind.SAFETY, cause, safety_delta=safety - level.safety)


def _positive(qty: int) -> None:
    if qty <= 0:
        raise InvalidInput("quantity must be positive", details=[{"field": "qty", "message": "must be > 0"}])


def _known(session: Session, location_id: str, gtin: str) -> None:
    if session.get(Location, location_id) is None:
        raise NotFound(f"location {location_id} not found", details={"location_id": location_id})
    if session.get(Product, gtin) is None:
        raise NotFound(f"product {gtin} not found", details={"gtin": gtin})

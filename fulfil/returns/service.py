"""Taking a customer return in, at any store or (posted) at a warehouse: exactly once per client id, each unit at most
as often as it was delivered, each tag once; stock lands where the items are, resellable units sellable at once.

Judging (which order line each item belongs to, what may still come back) is in fulfil.returns.items; this module
takes the return in and books it."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fulfil import money
from fulfil.auth.service import Principal
from fulfil.deps import check_location
from fulfil.errors import Conflict, InvalidInput, NotFound
from fulfil.journal import service as journal
from fulfil.models import Location, Order, Return, ReturnGrade, ReturnLine, StockCause, StockEventKind, TagState
from fulfil.models.base import utcnow
from fulfil.returns import repository
from fulfil.returns.items import Flag, ReturnRefused, Unit, judge, order_named
from fulfil.returns.schemas import ReturnCreate, ReturnEpcItem, ReturnLineRead, ReturnRead
from fulfil.stock import service as stock
from fulfil.tags import repository as tags

log = logging.getLogger(__name__)

# The zone a tag offered over a returns counter is "seen" in, on the anomaly it leaves when it was never sold.
RETURNS_COUNTER = "returns"


@dataclass(frozen=True)
class Received:
    """A return after intake; `created` is False when the same request had already been taken."""

    return_: Return
    created: bool


def request_hash(data: ReturnCreate) -> str:
    """A fingerprint of the return as posted, to tell a retry from a reused id."""
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def receive(session: Session, data: ReturnCreate, principal: Principal) -> Received:
    """Take a return in, all or nothing: ReturnRefused (409) lists every item that cannot come back, and carries the
    EPCs to flag (the edge records them after rolling the rest back). A retried POST returns the first return."""
    check_location(principal, data.location_id)
    if session.get(Location, data.location_id) is None:
        raise NotFound(f"location {data.location_id} not found", details={"location_id": data.location_id})
    _each_tag_graded_once(data)
    fingerprint = request_hash(data)
    existing = repository.get_by_external_id(session, data.external_id)
    if existing is not None:
        return _replay(existing, fingerprint, principal)
    order = repository.order_for_return(session, order_named(session, data))
    assert order is not None  # orders are never deleted
    # A twin of this request may have been taken while this one waited for the order's lock.
    existing = repository.get_by_external_id(session, data.external_id)
    if existing is not None:
        return _replay(existing, fingerprint, principal)
    units = judge(session, order, data)
    return_ = _record(session, order, data, units, fingerprint, principal)
    if not isinstance(return_, Return):
        return return_
    _book(session, order, return_, units, principal)
    log.info("return %s of order %s at %s: %d units, refund due %s %s", return_.external_id, order.external_id, return_.location_id,
             sum(u.qty for u in units), return_.refund_due, order.currency or "")
    return Received(return_, created=True)


def take_in(session: Session, data: ReturnCreate, principal: Principal) -> Received:
    """`receive`, as the API and the store app's returns desk call it: when the return is refused with EPCs to flag
    (never sold or shipped), the refusal rolls the rest back and the flags are recorded in a short transaction of
    their own (they must outlive it); then the refusal is raised again."""
    try:
        return receive(session, data, principal)
    except ReturnRefused as refused:
        if refused.flags:
            session.rollback()
            flag(session, refused.flags, data, principal, refused.order_id)
            session.commit()
        raise


def _each_tag_graded_once(data: ReturnCreate) -> None:
    """The same EPC listed twice counts once; listed with two grades or reasons it is a contradiction (422 naming the
    second listing). A rule the schema cannot say, so it is checked here, on a body the schema accepted."""
    first: dict[str, tuple[int, ReturnEpcItem]] = {}
    for index, item in enumerate(data.items):
        if isinstance(item, ReturnEpcItem):
            earlier_index, earlier = first.setdefault(item.epc, (index, item))
            if (earlier.grade, earlier.reason) != (item.grade, item.reason):
                raise InvalidInput(
                    f"EPC {item.epc} is listed twice with different grades or reasons",
                    details=[{"field": f"body.items.{index}", "message": f"contradicts body.items.{earlier_index} (the same EPC)", "type": "contradiction"}],
                )


def _replay(existing: Return, fingerprint: str, principal: Principal) -> Received:
    """The same return posted again, or a conflict; a scoped token learns nothing about another store's return."""
    if existing.request_hash == fingerprint:
        return Received(existing, created=False)
    if principal.location_id is not None and existing.location_id != principal.location_id:
        raise Conflict(f"return id {existing.external_id} is already taken: choose another",
                       details={"external_id": existing.external_id}, code="idempotency_conflict")
    raise Conflict(f"return id {existing.external_id} was already used for a different return",
                   details={"external_id": existing.external_id, "return_id": existing.id}, code="idempotency_conflict")


def _record(session: Session, order: Order, data: ReturnCreate, units: list[Unit], fingerprint: str, principal: Principal) -> Return | Received:
    """The return and its lines, with the refund due; a twin that won a race is replayed instead."""
    return_ = Return(
        external_id=data.external_id, order_id=order.id, location_id=data.location_id, request_hash=fingerprint,
        currency=order.currency, refund_due=money.total((u.qty, u.line.unit_price) for u in units), actor=principal.label,
        lines=[ReturnLine(order_line_id=u.line.id, gtin=u.gtin, epc=u.epc, qty=u.qty, grade=u.grade, reason=u.reason.value,
                          unit_price=u.line.unit_price) for u in units],
    )
    try:
        with session.begin_nested():  # losing a race (same id, or the same EPC) undoes only this
            session.add(return_)
            session.flush()
    except IntegrityError:
        winner = repository.get_by_external_id(session, data.external_id)
        if winner is not None:
            return _replay(winner, fingerprint, principal)
        raise ReturnRefused([{"code": "already_returned", "message": "an item of this return was returned by another return at the same moment"}], []) from None
    return return_


def _book(session: Session, order: Order, return_: Return, units: list[Unit], principal: Principal) -> None:
    """Stock lands where the items are: resellable units on hand (sellable at once), damaged ones in quarantine; a
    returned tag is there too, in stock or quarantined. Then the journal says what is due."""
    for line, unit in zip(return_.lines, units, strict=True):
        resellable = unit.grade is ReturnGrade.RESELLABLE
        key = f"return:{return_.id}:{line.id}"
        if unit.tag is not None:
            state = TagState.IN_STOCK if resellable else TagState.QUARANTINED
            version = tags.transition(session, unit.tag, state=state, location_id=return_.location_id, zone=None, shipment_id=None)
            if version is None:
                raise Conflict(f"EPC {unit.epc} changed while the return was taken: send it again", details={"epc": unit.epc}, code="tag_changed")
            key = f"tag:{unit.epc}:v{version}"  # a tag's stock event is keyed on the version it moved to
        cause = stock.Cause(StockCause.ORDER, actor=principal.label, order_id=order.id, shipment_id=unit.shipment_id, epc=unit.epc,
                            reason=f"returned {unit.grade.value}", note=f"{unit.reason.value}; return {return_.external_id}")
        stock.move(session, return_.location_id, unit.gtin, StockEventKind.RETURN, cause, idempotency_key=key,
                   on_hand_delta=unit.qty if resellable else 0, quarantine_delta=0 if resellable else unit.qty)
    items = [{"gtin": u.gtin, "epc": u.epc, "qty": u.qty, "grade": u.grade.value, "reason": u.reason.value} for u in units]
    journal.record(
        session, "return.received", locations=[return_.location_id, None], order_id=order.id, return_id=return_.id,
        external_id=return_.external_id, order_external_id=order.external_id, currency=order.currency,
        refund_due=money.amount_text(return_.refund_due), items=items,
    )
    session.flush()


def flag(session: Session, flags: list[Flag], data: ReturnCreate, principal: Principal, order_id: int | None) -> None:
    """Record EPCs offered as returns that were never sold or shipped: a journal event at the location and, for a
    tag Fulfil knows, an anomaly on it (once per tag version and location). Called in a transaction of its own, so
    the flag outlives the refused return."""
    for item in flags:
        tag = tags.get(session, item.epc)
        if tag is not None:
            tags.record_anomaly(session, tag, location_id=data.location_id, zone=RETURNS_COUNTER, seen_at=utcnow(), reader_id=None,
                                reason="offered as a customer return, but it was never sold or shipped")
        journal.record(
            session, "return.refused_item", locations=[data.location_id], order_id=order_id, epc=item.epc, gtin=item.gtin,
            tag_state=item.tag_state, external_id=data.external_id, actor=principal.label, reason=item.reason,
        )
        log.warning("return %s at %s: EPC %s refused and flagged: %s", data.external_id, data.location_id, item.epc, item.reason)
    session.flush()


def get(session: Session, return_id: int, principal: Principal) -> Return:
    """A return; a scoped token sees only those taken at its location (another's is not found, as a missing one)."""
    return_ = repository.get(session, return_id)
    if return_ is None or (principal.location_id is not None and return_.location_id != principal.location_id):
        raise NotFound(f"return {return_id} not found", details={"return_id": return_id})
    return return_


def read(session: Session, returns: list[Return]) -> list[ReturnRead]:
    """Returns as the API shows them: each line with its order line number, the refund due or why it is unknown."""
    numbers = repository.line_numbers(session, {line.order_line_id for r in returns for line in r.lines})
    orders = repository.order_external_ids(session, {r.order_id for r in returns})
    out = []
    for r in returns:
        unpriced = sorted({numbers[line.order_line_id] for line in r.lines if line.unit_price is None})
        note = None
        if r.refund_due is None:
            note = f"order line{'s' if len(unpriced) > 1 else ''} {', '.join(map(str, unpriced))} had no unit price: the refund due is unknown"
        out.append(ReturnRead(
            id=r.id, external_id=r.external_id, order_id=r.order_id, order_external_id=orders[r.order_id], location_id=r.location_id,
            currency=r.currency, refund_due=r.refund_due, refund_note=note, actor=r.actor, created_at=r.created_at,
            lines=[ReturnLineRead(line_no=numbers[line.order_line_id], gtin=line.gtin, epc=line.epc, qty=line.qty, grade=line.grade,
                                  reason=line.reason, unit_price=line.unit_price) for line in r.lines],
        ))
    return out

"""The ways out of quarantine, so the bucket does not only grow: units inspected are disposed of (written off) or
restored to sellable stock. Each exit is one stock movement, exactly once per Idempotency-Key; tagged units move
with their tags."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.errors import Conflict, InsufficientStock, NotFound
from fulfil.models import Location, Product, RfidTag, StockCause, StockEvent, StockEventKind, TagState
from fulfil.stock import repository
from fulfil.stock.schemas import QuarantineAction, QuarantineExit
from fulfil.stock.service import Cause, Moved, move
from fulfil.tags import repository as tags


def leave(session: Session, data: QuarantineExit, principal: Principal, *, idempotency_key: str | None, request_hash: str | None) -> tuple[Moved, list[str]]:
    """Dispose of quarantined units (quarantined - q) or restore them (quarantined - q, on hand + q); the movement
    and the EPCs that moved. With a key, a retry returns the first movement and a key reused for another exit is a
    conflict; more units than are quarantined is a conflict too."""
    if session.get(Location, data.location_id) is None:
        raise NotFound(f"location {data.location_id} not found", details={"location_id": data.location_id})
    if session.get(Product, data.gtin) is None:
        raise NotFound(f"product {data.gtin} not found", details={"gtin": data.gtin})
    epcs = list(dict.fromkeys(e.upper() for e in data.epcs or []))
    if idempotency_key is not None:
        earlier = repository.find_event_by_key(session, idempotency_key)
        if earlier is not None:
            _same_exit(earlier, request_hash)
            return Moved(earlier, created=False), epcs
    quarantined_tags = [_quarantined_here(session, epc, data) for epc in epcs]
    qty = len(epcs) if epcs else data.qty
    assert qty is not None
    restore = data.action is QuarantineAction.RESTORE
    cause = Cause(StockCause.MANUAL, actor=principal.label, reason="restored" if restore else "disposed", note=data.note,
                  epc=epcs[0] if len(epcs) == 1 else None)
    try:
        moved = move(session, data.location_id, data.gtin, StockEventKind.QUARANTINE, cause, quarantine_delta=-qty,
                     on_hand_delta=qty if restore else 0, idempotency_key=idempotency_key, request_hash=request_hash)
    except InsufficientStock:
        level = repository.get_level(session, data.location_id, data.gtin)
        held = level.quarantined if level is not None else 0
        raise Conflict(
            f"only {held} unit{'s' if held != 1 else ''} of {data.gtin} {'are' if held != 1 else 'is'} quarantined at {data.location_id}",
            details={"location_id": data.location_id, "gtin": data.gtin, "quarantined": held, "requested": qty},
            code="insufficient_quarantine",
        ) from None
    if not moved.created:  # a concurrent request with the same key won
        _same_exit(moved.event, request_hash)
        return moved, epcs
    for tag in quarantined_tags:
        # Restored, a tag is in stock here again; disposed, it stays quarantined at no location (readers ignore it).
        changes = {"state": TagState.IN_STOCK, "zone": None} if restore else {"location_id": None, "zone": None}
        if tags.transition(session, tag, **changes) is None:
            raise Conflict(f"EPC {tag.epc} changed meanwhile: send the request again", details={"epc": tag.epc}, code="tag_changed")
    return moved, epcs


def _quarantined_here(session: Session, epc: str, data: QuarantineExit) -> RfidTag:
    """A tag of the product, quarantined at the location; Conflict naming it otherwise."""
    tag = tags.get(session, epc)
    if tag is None or tag.gtin != data.gtin or tag.state is not TagState.QUARANTINED or tag.location_id != data.location_id:
        raise Conflict(f"EPC {epc} is not a quarantined unit of {data.gtin} at {data.location_id}", details={"epc": epc}, code="not_quarantined_here")
    return tag


def _same_exit(earlier: StockEvent, request_hash: str | None) -> None:
    """A retry repeats the exit its key was first used for; the key reused for another is a conflict."""
    if earlier.request_hash != request_hash or earlier.kind is not StockEventKind.QUARANTINE:
        raise Conflict(
            "this Idempotency-Key was already used for a different request: use a new key for a new one",
            details={"event_id": earlier.id}, code="idempotency_conflict",
        )

"""Sales at the point of sale: each sold tag leaves stock once; a sold tag later leaving through the exit is no loss."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.models import RfidTag, StockCause, StockEventKind, TagState
from fulfil.stock import service as stock
from fulfil.tags import repository


@dataclass(frozen=True)
class SaleLine:
    """What happened to one EPC of a sale."""

    epc: str
    outcome: str  # sold, already_sold, unknown, not_in_stock_here
    gtin: str | None = None


def visible_tag(session: Session, epc: str, principal: Principal) -> RfidTag | None:
    """The tag as the caller may know it: a scoped token (picker) sees only its own location's tags; any other
    tag is None, exactly like an EPC nobody registered, so a token cannot learn that a tag exists elsewhere."""
    tag = repository.get(session, epc)
    if tag is None or (principal.location_id is not None and tag.location_id != principal.location_id):
        return None
    return tag


def sell(session: Session, location_id: str, epcs: list[str], principal: Principal, receipt: str | None) -> list[SaleLine]:
    """Mark tags sold at a location and take them out of on-hand stock, each exactly once.

    A scoped caller gets `unknown` for another location's tag (see visible_tag); ops get `not_in_stock_here`."""
    out: list[SaleLine] = []
    for epc in dict.fromkeys(e.upper() for e in epcs):
        tag = visible_tag(session, epc, principal)
        if tag is None or tag.gtin is None:
            out.append(SaleLine(epc, "unknown"))
            continue
        if tag.state is TagState.SOLD:
            out.append(SaleLine(epc, "already_sold", tag.gtin))
            continue
        if tag.state is not TagState.IN_STOCK or tag.location_id != location_id:
            out.append(SaleLine(epc, "not_in_stock_here", tag.gtin))
            continue
        gtin = tag.gtin
        version = repository.transition(session, tag, state=TagState.SOLD, zone=None)
        if version is None:
            out.append(SaleLine(epc, "already_sold", gtin))
            continue
        cause = stock.Cause(StockCause.MANUAL, actor=principal.label, epc=epc, reason="sale", note=receipt)
        stock.move(session, location_id, gtin, StockEventKind.SALE, cause, on_hand_delta=-1, idempotency_key=f"tag:{epc}:v{version}")
        out.append(SaleLine(epc, "sold", gtin))
    return out

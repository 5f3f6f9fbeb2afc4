"""Sales at the point of sale: each sold tag leaves stock once; a sold tag later leaving through the exit is no loss."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.models import StockCause, StockEventKind, TagState
from fulfil.stock import service as stock
from fulfil.tags import repository


@dataclass(frozen=True)
class SaleLine:
    """What happened to one EPC of a sale."""

    epc: str
    outcome: str  # sold, already_sold, unknown, not_in_stock_here
    gtin: str | None = None


def sell(session: Session, location_id: str, epcs: list[str], principal: Principal, receipt: str | None) -> list[SaleLine]:
    """Mark tags sold at a location and take them out of on-hand stock, each exactly once."""
    out: list[SaleLine] = []
    for epc in dict.fromkeys(e.upper() for e in epcs):
        tag = repository.get(session, epc)
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

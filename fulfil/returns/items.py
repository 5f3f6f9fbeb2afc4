"""Judging what a return brings back: the order it names, the order line of each item, and whether that much may still
come back (delivered - already returned). Every problem is collected, so a refusal lists them all."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from fulfil.errors import Conflict, NotFound
from fulfil.models import Order, OrderLine, ReturnGrade, RfidTag, TagState
from fulfil.returns import repository
from fulfil.returns.schemas import ReturnCreate, ReturnEpcItem, ReturnReason
from rfid.epc import decode_epc

# A tag in these states left with a customer; with a shipment id it left with an order.
LEFT_WITH_CUSTOMER = frozenset({TagState.SHIPPED, TagState.SOLD})


@dataclass(frozen=True)
class Unit:
    """Units of one order line coming back with one grade: a tagged item (epc, tag) or a quantity by GTIN."""

    line: OrderLine
    gtin: str
    qty: int
    grade: ReturnGrade
    reason: ReturnReason
    epc: str | None = None
    tag: RfidTag | None = None
    shipment_id: int | None = None


@dataclass(frozen=True)
class Flag:
    """An EPC offered as a return that was never sold or shipped: refused, and recorded where it was offered."""

    epc: str
    gtin: str | None
    tag_state: str | None
    reason: str


class ReturnRefused(Conflict):
    """Nothing of the return was taken: `details.refused` lists each item or line that cannot come back (with its own
    code); `flags` are the never-sold EPCs to record anyway. The code is the problems' code when they share one."""

    def __init__(self, refused: list[dict[str, Any]], flags: list[Flag], order_id: int | None = None) -> None:
        codes = {r["code"] for r in refused}
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        super().__init__(f"return refused, nothing was taken: {refused[0]['message']}{more}", details={"refused": refused},
                         code=codes.pop() if len(codes) == 1 else "return_refused")
        self.flags = flags
        self.order_id = order_id


def _problem(code: str, message: str, **context: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **context}


def _epc_verdict(session: Session, epc: str, index: int) -> tuple[RfidTag | None, dict[str, Any] | None, Flag | None]:
    """The tag of a returned EPC if it left with an order; else the problem (and a flag when it never left at all)."""
    tag = repository.tag(session, epc)
    if tag is not None and tag.gtin is not None and tag.state in LEFT_WITH_CUSTOMER:
        if tag.shipment_id is None:
            return None, _problem("not_from_an_order", f"EPC {epc} left without an order (a till sale, or through the exit): "
                                  "till sales are not returned through orders", item=index, epc=epc), None
        return tag, None, None
    if tag is not None:
        earlier = repository.returned_epc(session, epc)
        if earlier is not None:
            return None, _problem("already_returned", f"EPC {epc} was already returned", item=index, epc=epc, return_id=earlier.return_id), None
    state = tag.state.value if tag is not None else None
    why = "unknown to Fulfil" if tag is None else ("not an item's tag" if tag.gtin is None else f"it is {state}")
    flag = Flag(epc, tag.gtin if tag is not None else _gtin_of(epc), state, f"never sold or shipped: {why}")
    return None, _problem("not_sold", f"EPC {epc} was never sold or shipped ({why}): refused and flagged", item=index, epc=epc), flag


def _gtin_of(epc: str) -> str | None:
    """The GTIN an unknown EPC encodes, if it is an item's SGTIN (decode_epc never raises: it says what it is)."""
    return decode_epc(epc).gtin


def order_named(session: Session, data: ReturnCreate) -> int:
    """The order the return names: by id, by pickup code, or by its items' tags (which must all name the same one)."""
    if data.order_id is not None:
        if session.get(Order, data.order_id) is None:
            raise NotFound(f"order {data.order_id} not found", details={"order_id": data.order_id})
        return data.order_id
    if data.pickup_code is not None:
        order_id = repository.order_id_by_pickup_code(session, data.pickup_code)
        if order_id is None:
            raise NotFound("no order has this pickup code", details={"pickup_code": data.pickup_code})
        return order_id
    by_order: dict[int, list[str]] = defaultdict(list)
    refused: list[dict[str, Any]] = []
    flags: list[Flag] = []
    seen: set[str] = set()
    for index, item in enumerate(data.items):
        assert isinstance(item, ReturnEpcItem)  # the schema asks for an order reference when an item is a GTIN
        if item.epc in seen:  # the same tag twice counts once
            continue
        seen.add(item.epc)
        tag, problem, flag = _epc_verdict(session, item.epc, index)
        if flag is not None:
            flags.append(flag)
        if problem is not None:
            refused.append(problem)
        elif tag is not None and tag.shipment_id is not None:
            order_id = repository.shipment_order(session, tag.shipment_id)
            if order_id is not None:
                by_order[order_id].append(item.epc)
    if len(by_order) > 1:
        refused.append(_problem("several_orders", "the EPCs left with different orders: return each order's items separately",
                                orders=[{"order_id": o, "epcs": epcs} for o, epcs in sorted(by_order.items())]))
    if not refused and not by_order:  # every tag left with a shipment of no order: nothing names one
        refused.append(_problem("no_order", "the EPCs name no order: give order_id or pickup_code"))
    if refused:
        raise ReturnRefused(refused, flags)
    return next(iter(by_order))


def judge(session: Session, order: Order, data: ReturnCreate) -> list[Unit]:
    """The units of each item (the order's row lock held); ReturnRefused listing every item or line that cannot come
    back: a tag that never left, left with another order or came back already; a GTIN not on the order; more units
    of a line than were delivered and not yet returned."""
    lines_by_gtin = {line.gtin: line for line in order.lines}
    lines_by_id = {line.id: line for line in order.lines}
    units: list[Unit] = []
    refused: list[dict[str, Any]] = []
    flags: list[Flag] = []
    seen: set[str] = set()
    for index, item in enumerate(data.items):
        if not isinstance(item, ReturnEpcItem):
            line = lines_by_gtin.get(item.gtin)
            if line is None:
                refused.append(_problem("not_in_order", f"GTIN {item.gtin} is not on order {order.external_id}", item=index, gtin=item.gtin))
            else:
                units.append(Unit(line, item.gtin, item.qty, item.grade, item.reason))
            continue
        if item.epc in seen:  # the same tag twice counts once
            continue
        seen.add(item.epc)
        tag, problem, flag = _epc_verdict(session, item.epc, index)
        if flag is not None:
            flags.append(flag)
        if problem is not None:
            refused.append(problem)
            continue
        assert tag is not None and tag.shipment_id is not None and tag.gtin is not None
        if repository.shipment_order(session, tag.shipment_id) != order.id:
            refused.append(_problem("other_order", f"EPC {item.epc} did not leave with order {order.external_id}", item=index, epc=item.epc))
            continue
        line_id = repository.shipment_line_of(session, tag.shipment_id, tag.gtin)
        line = lines_by_id.get(line_id) if line_id is not None else lines_by_gtin.get(tag.gtin)
        if line is None:
            refused.append(_problem("not_in_order", f"EPC {item.epc} is of GTIN {tag.gtin}, not on order {order.external_id}", item=index, epc=item.epc))
        elif repository.returned_epc(session, item.epc, line.id) is not None:
            refused.append(_problem("already_returned", f"EPC {item.epc} was already returned", item=index, epc=item.epc))
        else:
            units.append(Unit(line, tag.gtin, 1, item.grade, item.reason, item.epc, tag, tag.shipment_id))
    refused += _beyond_returnable(session, order, units)
    if refused:
        raise ReturnRefused(refused, flags, order.id)
    return units


def _beyond_returnable(session: Session, order: Order, units: list[Unit]) -> list[dict[str, Any]]:
    """Lines asked back beyond what may still come back: delivered - already returned."""
    delivered = repository.delivered(session, order.id)
    returned = repository.returned(session, order.id)
    asked: dict[int, int] = defaultdict(int)
    for unit in units:
        asked[unit.line.id] += unit.qty
    problems = []
    for line in order.lines:
        d, r, a = delivered.get(line.id, 0), returned.get(line.id, 0), asked.get(line.id, 0)
        if a > d - r:
            problems.append(_problem(
                "over_return", f"order line {line.line_no} ({line.gtin}): {a} unit{'s' if a > 1 else ''} returned, but {d} delivered "
                f"and {r} already returned", line_no=line.line_no, gtin=line.gtin, delivered=d, returned=r, requested=a, returnable=d - r,
            ))
    return problems

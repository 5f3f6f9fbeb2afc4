"""Picking by scanning: a shipment is claimed by one picker, and each scan of an item is recorded once.

- **Claim**: starting to pick claims the shipment for the caller: a staff member (any of their sessions, so a new
  sign-in on another handheld carries on), else the token. Another picker is refused (409 `claimed`, naming who and
  since when) until the claimant or ops release it; ops may always act.
- **Scans**: `scan()` classifies the code (rfid.scan_codes: a GTIN in any GS1 dress, an EPC from an RFID sled, an
  SSCC) and, for an item of the shipment with a unit still to pick, counts one unit picked on its line. Everything
  else is refused with a message the picker can act on: another product (`wrong_item`), one too many
  (`already_complete`), a tag already counted (`duplicate_item`), a parcel label (`not_an_item`), an unreadable code.
  Every scan, accepted or not, is recorded under the device's `scan_id`: a scan replayed after a network retry gets
  the first answer again and counts once (the shipment's row lock orders concurrent replays).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.errors import Conflict
from fulfil.models import Product, Role, ScanOutcome, Shipment, ShipmentScan, ShipmentStatus, StaffMember
from fulfil.models.base import utcnow
from fulfil.shipments import service
from rfid.scan_codes import parse


@dataclass(frozen=True)
class ScanResult:
    """A recorded scan and where the shipment stands after it."""

    scan: ShipmentScan
    shipment: Shipment
    replayed: bool


def claimant(session: Session, principal: Principal) -> str:
    """How a claim names the caller: the staff member's name, else the token's."""
    if principal.staff_id is not None:
        member = session.get(StaffMember, principal.staff_id)
        if member is not None:
            return member.name
    return principal.name


def holds_claim(shipment: Shipment, principal: Principal) -> bool:
    """Whether the caller may pick this shipment: unclaimed, claimed by them, or they are ops."""
    if principal.role is Role.OPS or shipment.claimed_at is None:
        return True
    if shipment.claimed_staff_id is not None:
        return principal.staff_id == shipment.claimed_staff_id
    return principal.token_id == shipment.claimed_token_id


def check_claim(shipment: Shipment, principal: Principal) -> None:
    """409 `claimed` when another picker holds the shipment."""
    if not holds_claim(shipment, principal):
        since = shipment.claimed_at.strftime("%H:%M UTC") if shipment.claimed_at else ""
        raise Conflict(
            f"{shipment.claimed_by} is picking this shipment (since {since})", code="claimed",
            details={"shipment_id": shipment.id, "claimed_by": shipment.claimed_by, "claimed_at": shipment.claimed_at.isoformat() if shipment.claimed_at else None},
        )


def claim(session: Session, shipment: Shipment, principal: Principal) -> None:
    """Claim the shipment for the caller, if nobody holds it (409 if another picker does). Ops act without claiming."""
    check_claim(shipment, principal)
    if principal.role is Role.OPS or shipment.claimed_at is not None:
        return
    shipment.claimed_by = claimant(session, principal)[:160]
    shipment.claimed_staff_id = principal.staff_id
    shipment.claimed_token_id = principal.token_id if principal.token_id > 0 else None
    shipment.claimed_at = utcnow()
    session.flush()  # written now: a later read of the order's shipments (populate_existing) must not undo it


def release(session: Session, shipment_id: int, principal: Principal) -> Shipment:
    """Give the shipment up (the claimant, or ops): another picker may take it over where it stands."""
    shipment = service.get_to_work(session, shipment_id, principal)
    check_claim(shipment, principal)
    shipment.claimed_by = shipment.claimed_staff_id = shipment.claimed_token_id = shipment.claimed_at = None
    return shipment


def scan(session: Session, shipment_id: int, scan_id: str, code: str, principal: Principal) -> ScanResult:
    """Record a scan made while picking (see the module's doc): the first answer for a `scan_id`, always."""
    shipment = service.get_to_work(session, shipment_id, principal)
    earlier = session.scalars(select(ShipmentScan).where(ShipmentScan.shipment_id == shipment.id, ShipmentScan.scan_id == scan_id)).one_or_none()
    if earlier is not None:
        return ScanResult(earlier, shipment, replayed=True)
    if shipment.status is not ShipmentStatus.PICKING:
        raise Conflict(
            f"shipment {shipment.id} is {shipment.status.value}: start picking it before scanning", code="not_picking",
            details={"shipment_id": shipment.id, "status": shipment.status.value},
        )
    claim(session, shipment, principal)
    outcome, message, gtin, epc = _judge(session, shipment, code)
    recorded = ShipmentScan(
        shipment_id=shipment.id, scan_id=scan_id, code=code.strip()[:128], gtin=gtin, epc=epc, outcome=outcome, message=message,
        actor=claimant(session, principal)[:160],
    )
    session.add(recorded)
    session.flush()
    return ScanResult(recorded, shipment, replayed=False)


def _judge(session: Session, shipment: Shipment, code: str) -> tuple[ScanOutcome, str, str | None, str | None]:
    """The outcome of one new scan (an accepted one counts its unit on the line)."""
    parsed = parse(code)
    if parsed.kind == "unknown":
        return ScanOutcome.UNREADABLE, f"Could not read this code: {parsed.problem}. Scan the item's barcode or tag.", None, parsed.epc
    if parsed.kind == "sscc":
        return ScanOutcome.NOT_AN_ITEM, f"This is a parcel label (SSCC {parsed.sscc}), not an item.", None, parsed.epc
    gtin, epc = parsed.gtin, parsed.epc
    assert gtin is not None
    name = session.scalar(select(Product.name).where(Product.gtin == gtin)) or gtin
    lines = [line for line in shipment.lines if line.gtin == gtin]
    if not lines:
        return ScanOutcome.WRONG_ITEM, f"{name} is not in this order: put it back.", gtin, epc
    if epc is not None and session.scalar(select(ShipmentScan.id).where(
        ShipmentScan.shipment_id == shipment.id, ShipmentScan.epc == epc, ShipmentScan.outcome == ScanOutcome.ACCEPTED,
    ).limit(1)) is not None:
        return ScanOutcome.DUPLICATE_ITEM, f"This {name} was already counted: scan another one.", gtin, epc
    open_line = next((line for line in lines if line.picked_qty < line.qty), None)
    wanted = sum(line.qty for line in lines)
    if open_line is None:
        return ScanOutcome.ALREADY_COMPLETE, f"One too many: all {wanted} × {name} are picked. Put this one back.", gtin, epc
    open_line.picked_qty += 1
    picked = sum(line.picked_qty for line in lines)
    return ScanOutcome.ACCEPTED, f"{name}: {picked} of {wanted}.", gtin, epc

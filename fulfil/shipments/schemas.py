"""API shapes of shipments."""

from __future__ import annotations

import enum
import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from fulfil.api_types import MAX_ID, RequestModel
from fulfil.models import ScanOutcome, ShortReason
from fulfil.orders.schemas import MAX_LINES, ProductUnits, ShipmentRead, units_per_gtin
from fulfil.routing_runs.schemas import RoutingDecisionRead
from rfid.epc.gs1 import check_key
from rfid.epc.model import EpcError


class PickedUnits(enum.StrEnum):
    """What becomes of units already picked when a shipment is rejected."""

    RESTOCK = "restock"  # back on the shelf: released, available again
    WRITE_OFF = "write_off"  # damaged or lost: they leave stock with a loss event carrying the reason


class RejectRequest(RequestModel):
    reason: str = Field(min_length=1, max_length=500, description="Why the location cannot fulfil it: short pick, damaged, ...")
    picked_units: PickedUnits | None = Field(
        default=None,
        description="What becomes of the units already picked: `restock` (back on the shelf, available again) or "
        "`write_off` (damaged or lost: they leave stock with a loss event). Required once anything was picked; "
        "unpicked units are always released.",
    )


class RejectResult(BaseModel):
    rejected: ShipmentRead
    rerouted: RoutingDecisionRead
    new_shipments: list[ShipmentRead]


class ShortPickCreate(RequestModel):
    reason: ShortReason = Field(
        description="`not_found`: not on the shelf (on-hand is counted down, a cycle count is raised); `damaged`: found damaged "
        "(moved to quarantine, not sellable)."
    )
    lines: list[ProductUnits] = Field(min_length=1, max_length=MAX_LINES, description="The units that could not be picked, per product.")

    def wanted(self) -> dict[str, int]:
        """Units short per GTIN."""
        return units_per_gtin(self.lines)


class UnitsRead(BaseModel):
    gtin: str
    qty: int


class ShortPickResult(BaseModel):
    shipment: ShipmentRead = Field(description="The shipment after the short: the found units continue (rejected when none are left).")
    reason: ShortReason
    short: list[UnitsRead] = Field(description="The units split off, per product.")
    rerouted: RoutingDecisionRead = Field(description="Where the order's uncovered units go now (never back here for those products).")
    new_shipments: list[ShipmentRead]
    replayed: bool = Field(description="True when this Idempotency-Key was applied before: nothing changed now.")


# A pack-station zone of the readers file (fulfil.ingest.config.zone_kind): `pack-station`, `pack-station-2`.
PACK_STATION_PATTERN = r"^pack-station(-[A-Za-z0-9._-]+)?$"
PACK_STATION = re.compile(PACK_STATION_PATTERN)


class ScanRequest(RequestModel):
    scan_id: str = Field(
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="The device's id for this scan (e.g. a UUID): a scan sent again with it counts once.",
    )
    code: str = Field(min_length=1, max_length=128, description="What the scanner typed: a GTIN barcode (any GS1 dress) or an EPC from an RFID sled.")


class ScanLine(BaseModel):
    gtin: str
    qty: int
    picked_qty: int


class ScanResultRead(BaseModel):
    """A scan's verdict and the shipment's progress after it."""

    scan_id: str
    accepted: bool = Field(description="true: one unit counted on its line. false: refused, nothing counted (`outcome` says why).")
    outcome: ScanOutcome
    message: str = Field(description="What to tell the picker, e.g. `Bottes 42 is not in this order: put it back.`")
    gtin: str | None
    epc: str | None
    replayed: bool = Field(description="true: this scan_id was recorded before; this is that answer again, nothing counted twice.")
    lines: list[ScanLine]
    picked_units: int
    total_units: int


class PickSlot(BaseModel):
    slot: int = Field(description="1, 2, … in the order the shipments were asked.")
    colour: str = Field(description="The slot's colour, to label its tote or bag: red, blue, green, …")
    shipment_id: int
    order_id: int
    qty: int
    picked_qty: int


class PickLineRead(BaseModel):
    gtin: str
    name: str
    size: str | None
    colour: str | None
    aisle: str | None
    bay: str | None
    shelf: str | None
    qty: int
    picked_qty: int
    slots: list[PickSlot] = Field(description="What each slot of the batch needs of this product (one slot for a single shipment).")


class PickListRead(BaseModel):
    """Lines in walking order (aisle, bay, shelf; products without a place last)."""

    location_id: str
    slots: list[PickSlot] = Field(description="Every shipment of the batch with its slot, colour and progress.")
    lines: list[PickLineRead]


class BatchScanRequest(ScanRequest):
    shipment_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        min_length=1, max_length=8, json_schema_extra={"uniqueItems": True}, description="The batch, in slot order (as the pick list was asked), each once.",
    )


class BatchScanRead(ScanResultRead):
    slot: int = Field(description="The slot the scan went to: put the item in this tote or bag.")
    slot_colour: str
    shipment_id: int


def _sscc(value: str) -> str:
    try:
        return check_key(value, 18, "SSCC")
    except EpcError as exc:
        raise ValueError(str(exc)) from None


# The length is the pattern; the GS1 check digit is the validator (and `format: sscc` says so).
Sscc = Annotated[
    str,
    Field(pattern=r"^[0-9]{18}$", examples=["106141410000000576"], description="SSCC-18 with a valid GS1 check digit.",
          json_schema_extra={"format": "sscc"}),
    AfterValidator(_sscc),
]


class PackRequest(RequestModel):
    station: str = Field(pattern=PACK_STATION_PATTERN, max_length=64, description="The pack-station zone the parcel is packed at, e.g. pack-station-1.")
    sscc: Sscc | None = Field(
        default=None,
        description="A pre-printed parcel label's SSCC-18, scanned at packing: this company's prefix (else 422), on no parcel yet "
                    "(else 409 `sscc_in_use`). Absent: the service allocates one.",
    )


class OverrideRequest(RequestModel):
    reason: str = Field(min_length=3, max_length=300, description="Why the parcel is closed without a complete RFID verdict (kept in its journal).")


class PackResult(BaseModel):
    shipment: ShipmentRead
    sscc: str = Field(description="SSCC-18 of the new parcel: print it on the label.")
    sscc_epc: str = Field(description="SSCC-96 EPC (hex) to write to the parcel's own tag.")


class VerificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    shipment_id: int
    station: str
    complete: bool
    verdict: dict[str, Any]
    created_at: datetime

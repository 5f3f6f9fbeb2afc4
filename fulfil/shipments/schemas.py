"""API shapes of shipments."""

from __future__ import annotations

import enum
import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fulfil.api_types import RequestModel
from fulfil.orders.schemas import ShipmentRead
from fulfil.routing_runs.schemas import RoutingDecisionRead


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


# A pack-station zone of the readers file (fulfil.ingest.config.zone_kind): `pack-station`, `pack-station-2`.
PACK_STATION_PATTERN = r"^pack-station(-[A-Za-z0-9._-]+)?$"
PACK_STATION = re.compile(PACK_STATION_PATTERN)


class PackRequest(RequestModel):
    station: str = Field(pattern=PACK_STATION_PATTERN, max_length=64, description="The pack-station zone the parcel is packed at, e.g. pack-station-1.")


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

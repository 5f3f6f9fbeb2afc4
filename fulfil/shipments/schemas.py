"""API shapes of shipments."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fulfil.orders.schemas import ShipmentRead
from fulfil.routing_runs.schemas import RoutingDecisionRead


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, description="Why the location cannot fulfil it: short pick, damaged, ...")


class RejectResult(BaseModel):
    rejected: ShipmentRead
    rerouted: RoutingDecisionRead
    new_shipments: list[ShipmentRead]


# A pack-station zone of the readers file (fulfil.ingest.config.zone_kind): `pack-station`, `pack-station-2`.
PACK_STATION_PATTERN = r"^pack-station(-[A-Za-z0-9._-]+)?$"
PACK_STATION = re.compile(PACK_STATION_PATTERN)


class PackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

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

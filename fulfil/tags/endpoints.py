"""/api/v1/sales and /api/v1/tags/{epc}"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from fulfil.api_types import RequestModel
from fulfil.deps import CommittingRoute, OpsOrPicker, SessionDep, check_location
from fulfil.errors import NotFound
from fulfil.models import TagState
from fulfil.tags import repository, service
from fulfil.tags.schemas import TagAnomalyRead

router = APIRouter(tags=["tags"], route_class=CommittingRoute)


class SaleCreate(RequestModel):
    location_id: str = Field(min_length=1, max_length=64)
    epcs: list[Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{8,64}$")]] = Field(min_length=1, max_length=1000)
    receipt: str | None = Field(default=None, max_length=128, description="The till receipt number, kept with each stock event.")


class SaleLineRead(BaseModel):
    epc: str
    outcome: str
    gtin: str | None


class TagRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    epc: str
    gtin: str | None
    serial: str | None
    location_id: str | None
    zone: str | None
    state: TagState
    shipment_id: int | None
    last_seen_at: datetime | None
    version: int
    anomalies: list[TagAnomalyRead] = Field(default=[], description="Sightings while sold or shipped (a scoped token sees those at its location).")


@router.post("/sales", response_model=list[SaleLineRead])
def record_sale(data: SaleCreate, session: SessionDep, principal: OpsOrPicker) -> list[SaleLineRead]:
    """Tags sold at a till: each leaves stock once (a retry changes nothing), and leaving through the exit is then no loss."""
    check_location(principal, data.location_id)
    lines = service.sell(session, data.location_id, list(data.epcs), principal, data.receipt)
    return [SaleLineRead(epc=ln.epc, outcome=ln.outcome, gtin=ln.gtin) for ln in lines]


@router.get("/tags/{epc}", response_model=TagRead)
def get_tag(epc: Annotated[str, Path(pattern=r"^[0-9A-Fa-f]{8,64}$")], session: SessionDep, principal: OpsOrPicker) -> TagRead:
    """One tag: product, location, zone, state, and its anomalies (seen while sold or shipped)."""
    tag = service.visible_tag(session, epc.upper(), principal)
    if tag is None:
        raise NotFound(f"tag {epc} not found", details={"epc": epc})
    anomalies = [TagAnomalyRead.model_validate(a) for a in repository.anomalies_of(session, tag.epc, principal.location_id)]
    return TagRead.model_validate(tag).model_copy(update={"anomalies": anomalies})

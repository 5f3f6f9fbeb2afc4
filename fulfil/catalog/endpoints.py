"""/api/v1/products"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from fulfil.api_types import Offset
from fulfil.catalog import repository, service
from fulfil.catalog.schemas import Gtin, ProductCreate, ProductRead, ProductUpdate
from fulfil.deps import CommittingRoute, OpsOnly, OpsOrPicker, SessionDep
from fulfil.openapi import errors

router = APIRouter(prefix="/products", tags=["products"], route_class=CommittingRoute)


@router.get("", response_model=list[ProductRead])
def list_products(
    session: SessionDep,
    _: OpsOrPicker,
    q: Annotated[str | None, Query(max_length=100, description="Part of the product name.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[ProductRead]:
    """The catalog."""
    return [ProductRead.model_validate(p) for p in repository.list_(session, search=q, limit=limit, offset=offset)]


@router.post("", response_model=ProductRead, status_code=status.HTTP_201_CREATED, responses=errors(409))
def create_product(data: ProductCreate, session: SessionDep, _: OpsOnly) -> ProductRead:
    """Add a product."""
    return ProductRead.model_validate(service.create(session, data))


@router.get("/{gtin}", response_model=ProductRead)
def get_product(gtin: Annotated[Gtin, Path()], session: SessionDep, _: OpsOrPicker) -> ProductRead:
    """One product."""
    return ProductRead.model_validate(service.get(session, gtin))


@router.patch("/{gtin}", response_model=ProductRead)
def update_product(gtin: Annotated[Gtin, Path()], data: ProductUpdate, session: SessionDep, _: OpsOnly) -> ProductRead:
    """Change a product's name, prefix length or layout position."""
    return ProductRead.model_validate(service.update(session, gtin, data))

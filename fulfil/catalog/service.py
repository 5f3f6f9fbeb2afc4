"""Product workflows."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fulfil.catalog import repository
from fulfil.catalog.schemas import ProductCreate, ProductUpdate
from fulfil.errors import Conflict, NotFound
from fulfil.models import Product


def create(session: Session, data: ProductCreate) -> Product:
    """Add a product; its GTIN must be new."""
    if repository.get(session, data.gtin) is not None:
        raise Conflict(f"product {data.gtin} already exists", details={"gtin": data.gtin}, code="already_exists")
    product = Product(**data.model_dump())
    session.add(product)
    session.flush()
    return product


def get(session: Session, gtin: str) -> Product:
    """One product, or NotFound."""
    product = repository.get(session, gtin)
    if product is None:
        raise NotFound(f"product {gtin} not found", details={"gtin": gtin})
    return product


def update(session: Session, gtin: str, data: ProductUpdate) -> Product:
    """Change the fields given."""
    product = get(session, gtin)
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(product, field, value)
    session.flush()
    return product

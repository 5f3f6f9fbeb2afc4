"""Queries on products."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfil.models import Product


def get(session: Session, gtin: str) -> Product | None:
    """One product by GTIN-14."""
    return session.get(Product, gtin)


def list_(session: Session, *, search: str | None, limit: int, offset: int) -> Sequence[Product]:
    """Products in GTIN order, optionally whose name contains `search` (case-insensitive)."""
    stmt = select(Product).order_by(Product.gtin).limit(limit).offset(offset)
    if search:
        stmt = stmt.where(Product.name.ilike(f"%{search}%"))
    return session.scalars(stmt).all()


def missing(session: Session, gtins: set[str]) -> set[str]:
    """The GTINs of `gtins` that are not in the catalog."""
    if not gtins:
        return set()
    found = set(session.scalars(select(Product.gtin).where(Product.gtin.in_(gtins))))
    return gtins - found

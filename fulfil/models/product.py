"""Products, keyed by GTIN-14, with their position in the store layout for walk-order picking."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fulfil.models.base import Base, UTCDateTime, utcnow


class Product(Base):
    """A trade item. `company_prefix_length` lets the service encode and check its SGTINs."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("length(gtin) = 14", name="gtin_length"),
        CheckConstraint(
            "company_prefix_length IS NULL OR company_prefix_length BETWEEN 6 AND 12", name="company_prefix_length_range"
        ),
    )

    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    company_prefix_length: Mapped[int | None] = mapped_column(Integer, default=None)
    aisle: Mapped[str | None] = mapped_column(String(16), default=None)
    bay: Mapped[str | None] = mapped_column(String(16), default=None)
    shelf: Mapped[str | None] = mapped_column(String(16), default=None)
    # What a picker checks on the item besides its name (the store app's pick list).
    size: Mapped[str | None] = mapped_column(String(32), default=None)
    colour: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

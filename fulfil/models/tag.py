"""RFID tags: one row per EPC with the product it carries, where it is and what state it is in."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fulfil.models.base import Base, UTCDateTime, str_enum, utcnow


class TagState(enum.StrEnum):
    IN_STOCK = "in_stock"
    RESERVED = "reserved"
    PICKED = "picked"
    PACKED = "packed"
    SHIPPED = "shipped"
    SOLD = "sold"  # left with a customer (a till sale, a collected pickup)
    MISSING = "missing"
    QUARANTINED = "quarantined"  # at the location, not sellable (a damaged return)


class RfidTag(Base):
    """A serialised item (SGTIN) or a logistic unit (SSCC) known to Fulfil."""

    __tablename__ = "rfid_tags"
    __table_args__ = (
        Index("ix_rfid_tags_location_state", "location_id", "state"),
        Index("ix_rfid_tags_gtin", "gtin"),
    )

    epc: Mapped[str] = mapped_column(String(64), primary_key=True)
    gtin: Mapped[str | None] = mapped_column(ForeignKey("products.gtin"), default=None)
    serial: Mapped[str | None] = mapped_column(String(40), default=None)
    location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id"), default=None)
    zone: Mapped[str | None] = mapped_column(String(64), default=None)
    state: Mapped[TagState] = mapped_column(str_enum(TagState, "tag_state"), default=TagState.IN_STOCK)
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"), default=None)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Bumped by every state change through a conditional UPDATE ... WHERE version = :seen, so two
    # workers (or a redelivered read) can never apply the same transition twice; stock events of a
    # tag transition carry the key "tag:<epc>:v<version>".
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TagAnomaly(Base):
    """A tag read where its state says it cannot be (sold or shipped, yet seen at a location): a fact, never a
    stock change. One row per (tag, tag version, location), so repeated reads add nothing; a tag that
    changes state afterwards (a return, then a new sale) starts a new version and can be flagged again."""

    __tablename__ = "tag_anomalies"
    __table_args__ = (
        UniqueConstraint("epc", "tag_version", "location_id"),  # once per tag version and location
        Index("ix_tag_anomalies_location", "location_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    epc: Mapped[str] = mapped_column(ForeignKey("rfid_tags.epc"))
    tag_version: Mapped[int] = mapped_column(Integer)
    tag_state: Mapped[TagState] = mapped_column(str_enum(TagState, "tag_state"))
    gtin: Mapped[str | None] = mapped_column(ForeignKey("products.gtin"), default=None)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"))  # where it was seen
    zone: Mapped[str] = mapped_column(String(64))
    reader_id: Mapped[str | None] = mapped_column(String(128), default=None)
    reason: Mapped[str] = mapped_column(String(200))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

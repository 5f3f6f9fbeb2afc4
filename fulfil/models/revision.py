"""Revision counters: a number a database trigger raises in the same transaction as every change to a table, so a
process that keeps a copy of that table (fulfil.locations.index) can tell with one indexed read whether its copy is
still what the database holds, whichever process or statement made the change (ORM, Core, SQL by hand)."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from fulfil.models.base import Base

# The tables with a counter: the row's name is the table's (migration 0011 creates the rows and the triggers).
LOCATIONS = "locations"


class Revision(Base):
    """One counter per watched table; raised by the table's triggers, never by application code."""

    __tablename__ = "revisions"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)

"""API shapes of the local inventory feed (the JSON form; the TSV form has the same columns, fulfil.feeds.formats)."""

from __future__ import annotations

import enum
from typing import Literal

from pydantic import BaseModel, Field


class FeedFormat(enum.StrEnum):
    JSON = "json"
    TSV = "tsv"


class LocalInventoryRow(BaseModel):
    """One product at one store, with Google's attribute names and values, and the bucket in Fulfil's own name."""

    id: str = Field(description="The product's GTIN-14 (Google's `id`: use the same id in the primary product feed).")
    store_code: str = Field(description="The store's location id (must be its Business Profile store code).")
    availability: Literal["in stock", "limited availability", "out of stock"] = Field(
        description="Google's `availability`: out of stock at 0 units, limited availability up to FULFIL_AVAILABILITY_LIMITED_MAX, in stock above."
    )
    quantity: int = Field(ge=0, description="Units that may be sold here: on hand less reserved, safety stock and quarantine.")
    pickup_method: Literal["buy", "ship to store", "not supported"] = Field(
        description="`buy` when the store has units; `ship to store` when another location can send them; else `not supported`."
    )
    pickup_SLA: Literal["same day", "next day", "2-day", "3-day", "4-day", "5-day", "6-day", "multi-week"] | None = Field(
        description="`same day` for units in the store; for ship to store the fewest days a parcel takes to it; null when not supported."
    )
    bucket: Literal["in_stock", "limited_availability", "out_of_stock"] = Field(description="The availability as Fulfil names it elsewhere.")


class LocalInventoryFeed(BaseModel):
    """A full feed (no `since`) or the rows changed since a cursor; `count` comes last (a document cut short does not parse)."""

    cursor: str = Field(description="Pass as `since` next time (also in the Fulfil-Feed-Cursor header).")
    since: str | None = Field(description="The cursor this feed started from; null for a full feed.")
    rows: list[LocalInventoryRow]
    count: int = Field(ge=0, description="Rows in `rows`.")

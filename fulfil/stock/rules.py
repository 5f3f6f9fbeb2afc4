"""The one definition of stock availability, in Python and in SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from fulfil.models import StockLevel


def available(on_hand: int, reserved: int, safety: int) -> int:
    """Units that may still be promised: on_hand - reserved - safety, never reported below zero."""
    return max(0, on_hand - reserved - safety)


IN_STOCK, LIMITED, OUT_OF_STOCK = "in_stock", "limited_availability", "out_of_stock"


def bucket(available_units: int, limited_max: int) -> str:
    """What a channel may advertise of `available_units` (available(), so safety stock is never advertised):
    out_of_stock at 0, limited_availability from 1 to `limited_max` (setting FULFIL_AVAILABILITY_LIMITED_MAX),
    in_stock above."""
    if available_units <= 0:
        return OUT_OF_STOCK
    return LIMITED if available_units <= limited_max else IN_STOCK


def safety_uncovered(on_hand: int, reserved: int, safety: int) -> int:
    """Units of safety stock not on the shelf: safety set above what is on hand and unreserved (0 when covered)."""
    return max(0, safety - max(0, on_hand - reserved))


def available_sql() -> ColumnElement[Any]:
    """The same rule as a SQL expression over stock_levels (unclamped: used in guards `>= qty`)."""
    return StockLevel.on_hand - StockLevel.reserved - StockLevel.safety

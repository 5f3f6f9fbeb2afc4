"""Money in the API: exact decimals with two places, carried as JSON strings ("19.90"), never as floats.

A JSON number is refused where money is expected: a client's 19.9 reaches the service as a binary float, and the
service does no float arithmetic on money. Amounts are `decimal.Decimal` quantized to the cent from the request to
the database (Numeric(12, 2) for a unit price, Numeric(14, 2) for a total) and back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema

CENT = Decimal("0.01")
# A unit price fills at most the unit_price column, Numeric(12, 2): ten digits before the point.
UNIT_PRICE_PATTERN = r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$"
MAX_UNIT_PRICE = Decimal("9999999999.99")
# A total (an order's worth, a refund due) fills at most Numeric(14, 2): twelve digits before the point.
MAX_TOTAL = Decimal("999999999999.99")
AMOUNT_PATTERN = r"^[0-9]{1,12}\.[0-9]{2}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"

_UNIT_PRICE = re.compile(UNIT_PRICE_PATTERN)


def _unit_price(value: Any) -> Decimal:
    """A unit price as sent: a string of at most two decimals, 0 or more; a JSON number is refused."""
    if not isinstance(value, str):
        raise ValueError('must be a string such as "19.90": a JSON number cannot carry cents exactly')
    if not _UNIT_PRICE.fullmatch(value):
        raise ValueError('must be an amount such as "19.90": digits, at most two decimals, 0 to 9999999999.99')
    return Decimal(value).quantize(CENT)


def _as_amount(value: Decimal) -> str:
    return f"{value.quantize(CENT):f}"


UnitPrice = Annotated[
    Decimal,
    BeforeValidator(_unit_price),
    WithJsonSchema({
        "type": "string", "pattern": UNIT_PRICE_PATTERN, "maxLength": 13, "examples": ["19.90"],
        "description": 'Price of one unit, in the order\'s currency: a string such as "19.90" (at most two decimals, '
        "0 to 9999999999.99); a JSON number is refused.",
    }),
    PlainSerializer(_as_amount, return_type=str, when_used="json"),
]

Currency = Annotated[str, Field(pattern=CURRENCY_PATTERN, min_length=3, max_length=3, examples=["EUR"], description="ISO 4217 code, e.g. EUR.")]

# An amount in a response: always two decimals, as a string ("19.90").
Amount = Annotated[
    Decimal,
    PlainSerializer(_as_amount, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["19.90"]}, mode="serialization"),
]


def amount_text(value: Decimal | None) -> str | None:
    """An amount as the API writes it ("19.90"), for JSON stored outside a response (journal events)."""
    return None if value is None else _as_amount(value)


def total(lines: Iterable[tuple[int, Decimal | None]]) -> Decimal | None:
    """Σ quantity × unit price, to the cent; None when any line has no price (the total is then unknown)."""
    amount = Decimal(0)
    for qty, price in lines:
        if price is None:
            return None
        amount += qty * price
    return amount.quantize(CENT)

"""Unit prices on order lines: exact decimals sent as strings, in the order's currency, kept and shown as sent; lines
of one product merge only when their prices agree; an order without prices keeps the fingerprint it always had."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fulfil.app import create_app
from fulfil.config import Settings
from fulfil.models import Order
from fulfil.orders.schemas import OrderCreate
from fulfil.orders.service import request_hash

URL = "/api/v1/orders"


@pytest.fixture(scope="module")
def order_schema() -> jsonschema.Draft202012Validator:
    spec = create_app(Settings(database_url="sqlite://")).openapi()
    text = json.dumps(spec["components"]["schemas"]).replace("#/components/schemas/", "#/$defs/")
    return jsonschema.Draft202012Validator({"$defs": json.loads(text), "$ref": "#/$defs/OrderCreate"})


@pytest.fixture()
def gtin(make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None]) -> str:
    store = make_location().id
    product = make_product().gtin
    stock_of(store, product, 50)
    return product


def order(gtin: str, *lines: dict[str, Any], external_id: str = "PRICED-1", **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "channel": "web", "ship_to": {"lat": 48.86, "lon": 2.35},
            "lines": [{"gtin": gtin, **line} for line in lines] or [{"gtin": gtin, "qty": 1}], **extra}


def test_prices_are_kept_exactly_and_shown_with_the_currency(client: TestClient, ops: dict[str, str], gtin: str, session: Session) -> None:
    answer = client.post(URL, headers=ops, json=order(gtin, {"qty": 3, "unit_price": "19.9"}, currency="EUR"))
    assert answer.status_code == 201, answer.text
    got = answer.json()
    assert got["currency"] == "EUR"
    assert [(ln["qty"], ln["unit_price"], ln["cancelled_qty"], ln["returned_qty"]) for ln in got["lines"]] == [(3, "19.90", 0, 0)]
    row = session.get(Order, got["id"])
    assert row is not None and row.currency == "EUR"
    session.refresh(row, ["lines"])
    assert row.lines[0].unit_price == Decimal("19.90") and isinstance(row.lines[0].unit_price, Decimal)
    # The same order again, the price spelled "19.90": the same order (the fingerprint compares values).
    again = client.post(URL, headers=ops, json=order(gtin, {"qty": 3, "unit_price": "19.90"}, currency="EUR"))
    assert (again.status_code, again.json()["id"]) == (200, got["id"])
    other = client.post(URL, headers=ops, json=order(gtin, {"qty": 3, "unit_price": "19.91"}, currency="EUR"))
    assert (other.status_code, other.json()["error"]["code"]) == (409, "idempotency_conflict")


def test_an_order_without_prices_keeps_its_fingerprint_so_old_retries_replay() -> None:
    data = OrderCreate.model_validate(order("00614141100002", {"qty": 2}))
    before_prices = data.model_dump(mode="json")
    del before_prices["currency"]
    del before_prices["hold_id"]  # nor checkout holds
    for line in before_prices["lines"]:
        del line["unit_price"]
    # How the fingerprint was computed before orders had prices.
    expected = hashlib.sha256(json.dumps(before_prices, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert request_hash(data) == expected


@pytest.mark.parametrize(
    ("line", "currency", "accepted"),
    [
        ({"unit_price": "0"}, "EUR", True),
        ({"unit_price": "9999999999.99"}, "JPY", True),
        ({"unit_price": "19.90"}, None, False),  # a price without its currency
        ({"unit_price": 19.9}, "EUR", False),  # a JSON number: refused, never rounded through a float
        ({"unit_price": 20}, "EUR", False),
        ({"unit_price": "19.999"}, "EUR", False),
        ({"unit_price": "-1.00"}, "EUR", False),
        ({"unit_price": "019.90"}, "EUR", False),
        ({"unit_price": "1e3"}, "EUR", False),
        ({"unit_price": "10000000000.00"}, "EUR", False),
        ({"unit_price": None}, None, True),
        ({}, "EUR", True),
        ({}, "eur", False),
        ({}, "EURO", False),
    ],
)
def test_what_a_price_may_be_is_what_the_schema_says(
    client: TestClient, ops: dict[str, str], gtin: str, order_schema: jsonschema.Draft202012Validator,
    line: dict[str, Any], currency: str | None, accepted: bool,
) -> None:
    payload = order(gtin, {"qty": 1, **line}, external_id=f"PRICE-{abs(hash(json.dumps(line)))}-{currency}",
                    **({"currency": currency} if currency else {}))
    assert order_schema.is_valid(payload) is accepted
    answer = client.post(URL, headers=ops, json=payload)
    assert (answer.status_code == 201) is accepted, answer.text
    if not accepted:
        assert answer.status_code == 422


def test_lines_of_one_product_merge_only_at_one_price(client: TestClient, ops: dict[str, str], gtin: str) -> None:
    same = client.post(URL, headers=ops, json=order(gtin, {"qty": 1, "unit_price": "5.00"}, {"qty": 2, "unit_price": "5"}, currency="EUR"))
    assert same.status_code == 201, same.text
    assert [(ln["qty"], ln["unit_price"]) for ln in same.json()["lines"]] == [(3, "5.00")]
    different = client.post(URL, headers=ops, json=order(gtin, {"qty": 1, "unit_price": "5.00"}, {"qty": 1, "unit_price": "4.00"},
                                                         currency="EUR", external_id="PRICED-2"))
    assert different.status_code == 422, different.text
    assert different.json()["error"]["details"][0] == {"field": "body.lines", "message": f"GTIN {gtin} at different unit prices: one price per product",
                                                       "type": "price_conflict"}
    half_priced = client.post(URL, headers=ops, json=order(gtin, {"qty": 1, "unit_price": "5.00"}, {"qty": 1},
                                                           currency="EUR", external_id="PRICED-3"))
    assert half_priced.status_code == 422, half_priced.text


def test_an_order_worth_more_than_a_total_can_hold_is_refused(client: TestClient, ops: dict[str, str], gtin: str) -> None:
    """Every refund of an order must fit the refund column (Numeric(14, 2)): the order's worth is bounded at intake."""
    answer = client.post(URL, headers=ops, json=order(gtin, {"qty": 200, "unit_price": "9999999999.99"}, currency="VND"))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "body.lines"

"""The local inventory feed (GET /api/v1/feeds/local-inventory): what each store may advertise, in Google's shape.

Quantity is what may be sold (never safety stock, reserved or quarantined units), the bucket follows
FULFIL_AVAILABILITY_LIMITED_MAX, pickup is `buy` / `same day` with units in the store, `ship to store` with the fewest
days a parcel takes from a location that has some, else `not supported`. JSON and TSV, the next cursor in both; bad
cursors are refused with a reason. Incremental feeds under concurrency: tests/service/test_feed_cursor.py."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fulfil.config import Settings
from fulfil.feeds import cursor as cursors
from fulfil.feeds.schemas import LocalInventoryFeed
from fulfil.feeds.service import pickup_sla
from fulfil.models import Location, LocationKind, StockCause
from fulfil.stock import service as stock_service
from routing.cost import distance_km
from tests.delivery import deliver

URL = "/api/v1/feeds/local-inventory"
LYON, VILLEURBANNE, PARIS, MARSEILLE = (45.764, 4.836), (45.771, 4.890), (48.857, 2.352), (43.296, 5.370)


def feed(client: TestClient, headers: dict[str, str], **params: Any) -> tuple[str, dict[tuple[str, str], dict[str, Any]]]:
    """The JSON feed: its cursor, and its rows by (store, GTIN)."""
    answer = client.get(URL, headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    body = LocalInventoryFeed.model_validate(answer.json())  # the documented shape, every row
    assert body.count == len(body.rows) and answer.headers["fulfil-feed-cursor"] == body.cursor
    rows = {(r.store_code, r.id): r.model_dump() for r in body.rows}
    assert len(rows) == len(body.rows), "one row per store and product"
    return body.cursor, rows


def counted_empty(session: Session, location_id: str, gtin: str) -> None:
    """A level at 0 (a count found none): the store lists the product, with nothing to sell."""
    stock_service.adjust(session, location_id, gtin, stock_service.Cause(StockCause.MANUAL, actor="test", reason="count"), set_on_hand=0)
    session.commit()


def row(rows: dict[tuple[str, str], dict[str, Any]], store: str, gtin: str) -> tuple[Any, ...]:
    got = rows[(store, gtin)]
    return got["quantity"], got["availability"], got["bucket"], got["pickup_method"], got["pickup_SLA"]


@pytest.fixture()
def network(make_location: Callable[..., Location], make_product: Callable[..., Any]) -> dict[str, Any]:
    """Two stores in Lyon, one in Paris; a warehouse near Marseille (a day of handling); three products."""
    return {
        "lyon": make_location(kind=LocationKind.STORE, lat=LYON[0], lon=LYON[1]).id,
        "villeurbanne": make_location(kind=LocationKind.STORE, lat=VILLEURBANNE[0], lon=VILLEURBANNE[1]).id,
        "paris": make_location(kind=LocationKind.STORE, lat=PARIS[0], lon=PARIS[1]).id,
        "dc": make_location(kind=LocationKind.WAREHOUSE, lat=MARSEILLE[0], lon=MARSEILLE[1], handling_days=1).id,
        "gtins": [make_product().gtin for _ in range(3)],
    }


def test_quantity_is_what_may_be_sold_and_the_bucket_follows_the_threshold(
    client: TestClient, ops: dict[str, str], network: dict[str, Any], stock_of: Callable[..., None],
) -> None:
    lyon, (a, b, c) = network["lyon"], network["gtins"]
    stock_of(lyon, a, 10, safety=3)  # 7 may be sold: in stock (above 3)
    stock_of(lyon, b, 5, safety=2)  # 3: limited availability (1 .. 3)
    stock_of(lyon, c, 2, safety=2)  # 0: safety stock is never advertised
    _cursor, rows = feed(client, ops)
    assert row(rows, lyon, a) == (7, "in stock", "in_stock", "buy", "same day")
    assert row(rows, lyon, b) == (3, "limited availability", "limited_availability", "buy", "same day")
    assert row(rows, lyon, c) == (0, "out of stock", "out_of_stock", "not supported", None)


@pytest.mark.parametrize(("on_hand", "expected"), [(1, "limited availability"), (3, "limited availability"), (4, "in stock")])
def test_the_limited_availability_threshold(
    client: TestClient, ops: dict[str, str], network: dict[str, Any], stock_of: Callable[..., None], on_hand: int, expected: str,
) -> None:
    stock_of(network["lyon"], network["gtins"][0], on_hand)
    assert row(feed(client, ops)[1], network["lyon"], network["gtins"][0])[:2] == (on_hand, expected)


def test_reserved_and_quarantined_units_are_not_advertised(
    client: TestClient, ops: dict[str, str], network: dict[str, Any], stock_of: Callable[..., None], session: Session,
) -> None:
    lyon, (a, b, _c) = network["lyon"], network["gtins"]
    stock_of(lyon, a, 5)
    order = {"external_id": "FEED-RES", "channel": "web", "ship_to": {"lat": LYON[0], "lon": LYON[1]}, "lines": [{"gtin": a, "qty": 2}]}
    placed = client.post("/api/v1/orders", headers=ops, json=order)
    assert placed.status_code == 201 and placed.json()["shipments"][0]["location_id"] == lyon, placed.text
    sold = deliver(session, lyon, [(b, 3, "10.00")])  # 3 units shipped from Lyon, then returned damaged there
    returned = client.post("/api/v1/returns", headers=ops, json={"external_id": "FEED-RET", "location_id": lyon, "order_id": sold.order_id,
                                                                  "items": [{"gtin": b, "qty": 3, "grade": "damaged", "reason": "defective"}]})
    assert returned.status_code == 201, returned.text
    assert client.get(f"/api/v1/stock/{lyon}/{b}", headers=ops).json()["quarantined"] == 3
    _cursor, rows = feed(client, ops)
    assert row(rows, lyon, a)[:2] == (3, "limited availability")  # 5 on hand, 2 reserved for the order
    assert row(rows, lyon, b)[:2] == (0, "out of stock")  # quarantined units are no stock to sell


def test_pickup_from_the_store_or_shipped_to_it_from_the_nearest_source(
    client: TestClient, ops: dict[str, str], network: dict[str, Any], stock_of: Callable[..., None], session: Session,
) -> None:
    lyon, villeurbanne, paris, dc = network["lyon"], network["villeurbanne"], network["paris"], network["dc"]
    a, b, c = network["gtins"]
    stock_of(dc, a, 50)
    for store in (lyon, villeurbanne, paris):
        counted_empty(session, store, a)  # a level, nothing to sell: out of stock there
    stock_of(villeurbanne, b, 2)
    counted_empty(session, lyon, b)
    counted_empty(session, paris, c)  # nobody has c
    # Marseille -> Lyon ~280 km: 1 handling day + 2 transit days (150-600 km); -> Paris ~660 km: 1 + 3.
    assert 150 < distance_km(MARSEILLE, LYON) <= 600 < distance_km(MARSEILLE, PARIS)
    _cursor, rows = feed(client, ops)
    assert row(rows, lyon, a) == (0, "out of stock", "out_of_stock", "ship to store", "3-day")
    assert row(rows, paris, a) == (0, "out of stock", "out_of_stock", "ship to store", "4-day")
    assert row(rows, lyon, b) == (0, "out of stock", "out_of_stock", "ship to store", "next day")  # from Villeurbanne, 5 km, no handling day
    assert row(rows, villeurbanne, b) == (2, "limited availability", "limited_availability", "buy", "same day")
    assert row(rows, paris, c) == (0, "out of stock", "out_of_stock", "not supported", None)
    assert (dc, a) not in rows  # a warehouse has no row: it is a source only


@pytest.mark.parametrize(("days", "sla"), [(0, "next day"), (1, "next day"), (2, "2-day"), (5, "5-day"), (6, "6-day"), (7, "multi-week"), (30, "multi-week")])
def test_ship_to_store_days_in_googles_words(days: int, sla: str) -> None:
    assert pickup_sla(days) == sla


def test_rows_only_for_active_stores_and_products_they_stock_and_closed_locations_are_no_source(
    client: TestClient, ops: dict[str, str], network: dict[str, Any], stock_of: Callable[..., None], session: Session,
) -> None:
    lyon, paris, dc = network["lyon"], network["paris"], network["dc"]
    a, b, _c = network["gtins"]
    stock_of(lyon, a, 4)
    counted_empty(session, paris, a)
    stock_of(dc, b, 9)
    counted_empty(session, paris, b)
    _cursor, rows = feed(client, ops)
    mine = {key for key in rows if key[0] in (lyon, paris, dc, network["villeurbanne"])}
    assert mine == {(lyon, a), (paris, a), (paris, b)}  # never stocked there: no row; a level at 0: an out-of-stock row
    assert row(rows, paris, b)[3] == "ship to store"
    answer = client.patch(f"/api/v1/locations/{dc}", headers=ops, json={"active": False})
    assert answer.status_code == 200, answer.text
    assert client.patch(f"/api/v1/locations/{lyon}", headers=ops, json={"active": False}).status_code == 200
    _cursor, rows = feed(client, ops)
    assert (lyon, a) not in rows  # a closed store has no rows
    assert row(rows, paris, a)[3:] == ("not supported", None)  # ... and is no source
    assert row(rows, paris, b)[3:] == ("not supported", None)  # a closed warehouse neither


def test_tsv_is_googles_file_and_carries_the_cursor(
    client: TestClient, ops: dict[str, str], network: dict[str, Any], stock_of: Callable[..., None], session: Session,
) -> None:
    lyon, paris, dc = network["lyon"], network["paris"], network["dc"]
    a, b, _c = network["gtins"]
    stock_of(lyon, a, 12)
    counted_empty(session, paris, b)
    cursor, rows = feed(client, ops)
    for asked in ({"params": {"format": "tsv"}}, {"headers": {"Accept": "text/tab-separated-values"}}):
        answer = client.get(URL, params=asked.get("params"), headers={**ops, **asked.get("headers", {})})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "text/tab-separated-values; charset=utf-8"
        assert answer.headers["fulfil-feed-cursor"] == cursor  # nothing changed in between
        lines = answer.text.split("\n")
        assert lines[0] == "id\tstore_code\tavailability\tquantity\tpickup_method\tpickup_SLA" and lines[-1] == ""
        table = {(r["store_code"], r["id"]): r for r in csv.DictReader(io.StringIO(answer.text), delimiter="\t")}
        assert table.keys() == rows.keys()
        assert table[(lyon, a)] == {"id": a, "store_code": lyon, "availability": "in stock", "quantity": "12", "pickup_method": "buy", "pickup_SLA": "same day"}
        assert table[(paris, b)]["availability"] == "out of stock" and table[(paris, b)]["pickup_SLA"] == ""
    assert dc and client.get(URL, headers={**ops, "Accept": "text/tab-separated-values"}, params={"format": "json"}).json()["cursor"] == cursor


def test_a_channel_reads_the_feed_and_a_store_may_not(client: TestClient, auth: Callable[..., dict[str, str]], network: dict[str, Any]) -> None:
    assert client.get(URL, headers=auth("channel")).status_code == 200
    refused = client.get(URL, headers=auth("picker", network["lyon"]))
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")


@pytest.mark.parametrize("garbled", [
    "abc", "12", "12.", "12.XYZ12345", "-3.0123abcd", "1.0123abcd0", "01.0123abcd", "1234567890123456789.0123abcd", "9-.0123abcd",
    "9" + "-1" * 65 + ".0123abcd",  # at most 64 open transactions
])
def test_a_garbled_cursor_is_422_naming_it(client: TestClient, ops: dict[str, str], garbled: str) -> None:
    answer = client.get(URL, headers=ops, params={"since": garbled})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "query.since"


def test_a_cursor_ahead_of_the_database_is_422_and_one_of_other_rules_is_410(
    client: TestClient, app: Any, ops: dict[str, str], database_url: str, network: dict[str, Any], stock_of: Callable[..., None],
) -> None:
    stock_of(network["lyon"], network["gtins"][0], 2)
    cursor, _rows = feed(client, ops)
    handed = cursors.parse(cursor)
    ahead = client.get(URL, headers=ops, params={"since": str(cursors.Cursor(handed.next + 10**12, (), handed.rules))})
    assert ahead.status_code == 422 and ahead.json()["error"]["details"][0]["field"] == "query.since", ahead.text
    assert "ahead" in ahead.json()["error"]["message"]
    oldest = client.get(URL, headers=ops, params={"since": f"0.{handed.rules}"})  # older than anything: everything since
    assert oldest.status_code == 200 and (network["lyon"], network["gtins"][0]) in {(r["store_code"], r["id"]) for r in oldest.json()["rows"]}
    app.state.settings = Settings(database_url=database_url, availability_limited_max=1)  # the threshold changed: rows differ
    gone = client.get(URL, headers=ops, params={"since": cursor})
    assert (gone.status_code, gone.json()["error"]["code"]) == (410, "feed_cursor_gone"), gone.text
    assert "FULFIL_AVAILABILITY_LIMITED_MAX" in gone.json()["error"]["message"]
    for odd in (f"{handed.next}-{handed.next}-3-3-1.{handed.rules}", f"{handed.next}-2-1.{handed.rules}"):
        assert client.get(URL, headers=ops, params={"since": odd}).status_code == 410  # a cursor, of the old rules
    fresh, rows = feed(client, ops)  # the full feed under the new rules, and its cursor
    assert row(rows, network["lyon"], network["gtins"][0])[:2] == (2, "in stock")
    assert client.get(URL, headers=ops, params={"since": fresh}).status_code == 200


def test_every_text_of_the_cursor_pattern_is_a_cursor() -> None:
    """The request schema's pattern is the whole rule of form (a fuzzer's schema-valid cursor is never refused as
    garbled): repeated open transactions, or ones at or above the next number, add nothing."""
    assert cursors.parse("10-3-3-1-12.0123abcd") == cursors.Cursor(10, (1, 3), "0123abcd")
    cursor = cursors.parse("10-3-1.0123abcd")
    assert [n for n in range(15) if cursor.unseen(n)] == [1, 3, 10, 11, 12, 13, 14]
    assert str(cursor) == "10-1-3.0123abcd"

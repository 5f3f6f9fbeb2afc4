"""A tag sold at the till leaves stock once; walking out with it afterwards is no loss, unlike an unsold one."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fulfil.auth.service import Principal
from fulfil.db import unit_of_work
from fulfil.ingest.config import parse_config
from fulfil.ingest.pipeline import IngestPipeline
from fulfil.models import RfidTag, Role, TagState
from fulfil.tags.service import sell
from rfid.epc import encode_sgtin96
from tests.conftest import make_gtin
from tests.ingest.conftest import events, impinj, on_hand, readers_toml
from tests.factories import error_of

CLERK = Principal(token_id=0, name="till-1", role=Role.OPS, location_id=None)


def test_sold_tag_leaving_is_not_a_loss(site: dict[str, Any]) -> None:
    factory, store, gtin, (sold, stolen) = site["factory"], site["store"], site["gtin"], site["epcs"][:2]
    pipeline = IngestPipeline(parse_config(readers_toml(store, "unused/topic", "unused")), factory)
    reader = f"r700-{store}"
    for epc in (sold, stolen):
        pipeline.feed_payload(impinj(epc, 1), reader=reader)
    pipeline.commit()
    assert on_hand(factory, store, gtin) == 2
    for attempt in range(2):  # the till retries: still one sale
        with unit_of_work(factory) as s:
            lines = sell(s, store, [sold], CLERK, receipt="R-0001")
        assert [ln.outcome for ln in lines] == (["sold"] if attempt == 0 else ["already_sold"])
    assert on_hand(factory, store, gtin) == 1
    # Both walk out: inner side first, then outer.
    t0 = datetime.now(UTC)
    for epc in (sold, stolen):
        for i in range(2):
            pipeline.feed_payload(impinj(epc, 3, t0 + timedelta(milliseconds=50 * i), rssi_cdbm=-4000), reader=reader)
        for i in range(2):
            pipeline.feed_payload(impinj(epc, 4, t0 + timedelta(milliseconds=400 + 50 * i), rssi_cdbm=-4000), reader=reader)
    pipeline.commit(datetime.now(UTC) + timedelta(seconds=10))
    assert on_hand(factory, store, gtin) == 0
    assert [(e.kind.value, e.epc) for e in events(factory, store)] == [("receipt", sold), ("receipt", stolen), ("sale", sold), ("loss", stolen)]
    with unit_of_work(factory) as s:
        assert [ln.outcome for ln in sell(s, store, [stolen, "E2801160600002"], CLERK, None)] == ["not_in_stock_here", "unknown"]


def test_scoped_tokens_learn_nothing_of_other_stores_tags(
    client: TestClient, session: Session, ops: dict[str, str], auth: Callable[..., dict[str, str]],
    make_location: Callable[..., Any], make_product: Callable[..., Any], stock_of: Callable[..., None],
) -> None:
    mine, theirs = make_location().id, make_location().id
    gtin = make_product(gtin=make_gtin(prefix="0614199")).gtin  # a prefix of its own: `site` products are committed for good
    stock_of(theirs, gtin, 1)
    elsewhere, made_up = encode_sgtin96(gtin, 4242, 7), encode_sgtin96(gtin, 4243, 7)
    session.add(RfidTag(epc=elsewhere, gtin=gtin, serial="4242", location_id=theirs, zone="backroom", state=TagState.IN_STOCK, version=1))
    session.commit()
    picker = auth("picker", mine)

    def sale(headers: dict[str, str], epc: str) -> dict[str, Any]:
        response = client.post("/api/v1/sales", headers=headers, json={"location_id": mine, "epcs": [epc]})
        assert response.status_code == 200, response.text
        line: dict[str, Any] = response.json()[0]
        return line

    # The picker: another store's tag and an EPC nobody registered get the same answer, no GTIN, no location.
    assert sale(picker, elsewhere) == {"epc": elsewhere, "outcome": "unknown", "gtin": None}
    assert sale(picker, made_up) == {"epc": made_up, "outcome": "unknown", "gtin": None}
    tag_there, tag_nowhere = client.get(f"/api/v1/tags/{elsewhere}", headers=picker), client.get(f"/api/v1/tags/{made_up}", headers=picker)
    assert tag_there.status_code == tag_nowhere.status_code == 404
    assert error_of(tag_there) == json.loads(json.dumps(error_of(tag_nowhere)).replace(made_up, elsewhere))
    # Ops keep the detailed answer; nothing was sold either way.
    assert sale(ops, elsewhere) == {"epc": elsewhere, "outcome": "not_in_stock_here", "gtin": gtin}
    assert client.get(f"/api/v1/tags/{elsewhere}", headers=ops).json()["location_id"] == theirs
    assert client.get(f"/api/v1/tags/{elsewhere}", headers=auth("picker", theirs)).json()["state"] == "in_stock"

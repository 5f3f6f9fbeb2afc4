"""A tag sold at the till leaves stock once; walking out with it afterwards is no loss, unlike an unsold one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fulfil.auth.service import Principal
from fulfil.db import unit_of_work
from fulfil.ingest.config import parse_config
from fulfil.ingest.pipeline import IngestPipeline
from fulfil.models import Role
from fulfil.tags.service import sell
from tests.ingest.conftest import events, impinj, on_hand, readers_toml

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

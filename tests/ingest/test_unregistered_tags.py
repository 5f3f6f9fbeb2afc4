"""What an unregistered tag is when a reader sees it, by rfid.verification's one definition: only items of
catalogued products are received; case tags are recognised, uncatalogued items and foreign tags counted apart."""

from __future__ import annotations

from typing import Any

from fulfil.ingest.config import parse_config
from fulfil.ingest.pipeline import IngestPipeline
from rfid.epc import encode_sgtin96
from tests.conftest import make_gtin
from tests.ingest.conftest import impinj, on_hand, readers_toml


def test_only_items_of_catalogued_products_are_received(site: dict[str, Any]) -> None:
    factory, store, gtin = site["factory"], site["store"], site["gtin"]
    pipeline = IngestPipeline(parse_config(readers_toml(store, "unused/topic", "unused")), factory)
    reader = f"r700-{store}"
    case = encode_sgtin96(gtin, 77, 7, 2)  # the carton's own tag (filter 2): not an item
    uncatalogued = encode_sgtin96(make_gtin(prefix="0614141"), 78, 7)
    junk = "E2801190A5021F80055817CA"
    for epc in (site["epcs"][0], case, uncatalogued, junk):
        pipeline.feed_payload(impinj(epc, 1), reader=reader)
    effects = {e.epc: (e.outcome.value, e.detail) for e in pipeline.commit()}
    assert effects[site["epcs"][0]][0] == "received"
    assert effects[case] == ("ignored", "case tag, not counted")
    assert effects[uncatalogued] == ("uncatalogued", "item of a product not in the catalogue")
    assert effects[junk][0] == "foreign" and effects[junk][1]
    assert on_hand(factory, store, gtin) == 1
    assert pipeline.counters.effects == {"received": 1, "ignored": 1, "uncatalogued": 1, "foreign": 1}

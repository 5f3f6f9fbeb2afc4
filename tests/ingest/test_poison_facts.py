"""A fact the database refuses on its own (here: a trigger rejecting one tag's stock event) is quarantined:
the rest of its batch is applied, nothing is applied twice, and the worker goes on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from fulfil.db import make_engine, make_session_factory
from fulfil.ingest.config import parse_config
from fulfil.ingest.pipeline import IngestPipeline
from tests.ingest.conftest import events, impinj, on_hand, readers_toml


@pytest.fixture()
def poisoned(engine: Engine, site: dict[str, Any]) -> Iterator[str]:
    """The EPC whose stock event the database refuses, with a real trigger on the database under test."""
    epc = site["epcs"][1]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(
                "CREATE FUNCTION fulfil_test_poison() RETURNS trigger AS $$ BEGIN"
                f" IF NEW.epc = '{epc}' THEN RAISE EXCEPTION 'poisoned for the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER fulfil_test_poison BEFORE INSERT ON stock_events FOR EACH ROW EXECUTE FUNCTION fulfil_test_poison()"))
        else:
            conn.execute(text(f"CREATE TRIGGER fulfil_test_poison BEFORE INSERT ON stock_events WHEN NEW.epc = '{epc}'"
                              " BEGIN SELECT RAISE(ABORT, 'poisoned for the test'); END"))
    try:
        yield epc
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER fulfil_test_poison" + (" ON stock_events" if engine.dialect.name == "postgresql" else "")))
            if engine.dialect.name == "postgresql":
                conn.execute(text("DROP FUNCTION fulfil_test_poison()"))


def test_a_fact_the_database_refuses_is_quarantined_and_the_rest_applied(site: dict[str, Any], poisoned: str) -> None:
    pipeline = IngestPipeline(parse_config(readers_toml(site["store"], "t/events", "poison")), site["factory"])
    good = [site["epcs"][0], site["epcs"][2]]
    for epc in [good[0], poisoned, good[1]]:
        pipeline.feed_payload(impinj(epc, 1), reader=f"r700-{site['store']}", fmt="impinj")
    effects = pipeline.commit()  # does not raise: the worker would ack and go on
    assert sorted(e.epc for e in effects if e.outcome.value == "received") == sorted(good)
    assert on_hand(site["factory"], site["store"], site["gtin"]) == 2
    assert sorted(e.epc for e in events(site["factory"], site["store"])) == sorted(good)
    assert pipeline.counters.quarantined == 1 and pipeline.counters.commit_failures == 1 and not pipeline.pending
    (entry,) = pipeline.quarantine
    assert poisoned in str(entry["fact"]) and "poisoned for the test" in str(entry["error"])
    # Later batches go through as usual, and nothing from the failed batch is applied twice.
    pipeline.feed_payload(impinj(site["epcs"][3], 1), reader=f"r700-{site['store']}", fmt="impinj")
    pipeline.commit()
    assert on_hand(site["factory"], site["store"], site["gtin"]) == 3
    assert pipeline.counters.quarantined == 1


def test_a_database_that_cannot_be_reached_keeps_every_fact_for_later(site: dict[str, Any], tmp_path: Path) -> None:
    pipeline = IngestPipeline(parse_config(readers_toml(site["store"], "t/events", "outage")), site["factory"])
    unreachable = make_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    pipeline.factory = make_session_factory(unreachable)  # the database is gone
    for epc in site["epcs"][:3]:
        pipeline.feed_payload(impinj(epc, 1), reader=f"r700-{site['store']}", fmt="impinj")
    with pytest.raises(OperationalError):
        pipeline.commit()  # the MQTT worker acks nothing and retries
    assert len(pipeline.pending) == 3 and pipeline.counters.quarantined == 0
    pipeline.factory = site["factory"]  # it is back
    pipeline.commit()
    assert on_hand(site["factory"], site["store"], site["gtin"]) == 3 and not pipeline.pending
    unreachable.dispose()

"""Ingest fixtures: a private Mosquitto, committed reference data, a publisher."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from fulfil.db import make_session_factory, unit_of_work
from fulfil.models import Location, LocationKind, Product, StockEvent, StockLevel
from rfid.epc import encode_sgtin96
from simulators.broker import MosquittoBroker
from tests.conftest import assert_stock_consistent, make_gtin
from tests.factories import delete_location


@pytest.fixture(scope="session")
def broker() -> Iterator[MosquittoBroker]:
    """A Mosquitto of our own on a free port (persistence on), for the whole session."""
    with MosquittoBroker() as b:
        yield b


@pytest.fixture()
def site(engine: Engine, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A store and a product committed for real (ingest commits in its own transactions); removed afterwards."""
    factory = make_session_factory(engine)
    store = f"ST-ING-{uuid.uuid4().hex[:6]}"
    gtin = make_gtin(prefix="0614141")
    with unit_of_work(factory) as s:
        s.add(Location(id=store, name="ingest store", kind=LocationKind.STORE, lat=45.0, lon=4.0))
        if s.get(Product, gtin) is None:
            s.add(Product(gtin=gtin, name="tagged item", company_prefix_length=7))
    epcs = [encode_sgtin96(gtin, serial, 7) for serial in range(1000, 1010)]
    yield {"store": store, "gtin": gtin, "epcs": epcs, "factory": factory}
    try:
        with engine.connect() as conn:
            assert_stock_consistent(conn, request)
    finally:
        _clean_up(factory, store, gtin, epcs)


def _clean_up(factory: sessionmaker[Session], store: str, gtin: str, epcs: list[str]) -> None:
    with unit_of_work(factory) as s:
        delete_location(s, store, epcs)


def readers_toml(store: str, topic: str, client_id: str) -> str:
    return f"""
exit_policy = "loss"
hold_off_ms = 0
client_id = "{client_id}"

[zones.receiving]
arrival_reads = 1
arrival_ms = 0

[zones.pack-station-1]
arrival_reads = 1
arrival_ms = 0

[[readers]]
id = "r700-{store}"
location = "{store}"
transport = "mqtt"
topic = "{topic}"
format = "impinj"
[readers.antennas]
1 = "receiving"
2 = "salesfloor"
3 = "exit-inner"
4 = "exit-outer"
5 = "pack-station-1"
"""


def impinj(epc: str, antenna: int, at: datetime | None = None, rssi_cdbm: int = -4500) -> bytes:
    at = at or datetime.now(UTC)
    return json.dumps({
        "timestamp": at.isoformat().replace("+00:00", "Z"), "hostname": "r700", "eventType": "tagInventory",
        "tagInventoryEvent": {"epcHex": epc, "antennaPort": antenna, "peakRssiCdbm": rssi_cdbm},
    }).encode()


@pytest.fixture()
def publish(broker: MosquittoBroker) -> Iterator[Callable[[str, bytes], None]]:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5)
    client.connect(broker.host, broker.port)
    client.loop_start()

    def send(topic: str, payload: bytes) -> None:
        client.publish(topic, payload, qos=1).wait_for_publish(timeout=10)

    yield send
    client.loop_stop()
    client.disconnect()


def on_hand(factory: sessionmaker[Session], store: str, gtin: str) -> int:
    with factory() as s:
        level = s.get(StockLevel, (store, gtin))
        return level.on_hand if level else 0


def events(factory: sessionmaker[Session], store: str) -> list[StockEvent]:
    with factory() as s:
        return list(s.scalars(select(StockEvent).where(StockEvent.location_id == store).order_by(StockEvent.id)))

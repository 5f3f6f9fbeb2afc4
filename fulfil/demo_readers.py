"""Live reader traffic for `fulfil serve --demo`: a private Mosquitto, a readers file, and emulated readers.

Two stores get a reader each, speaking the real wire formats through a real broker: an Impinj R700
at Paris Rivoli and a Zebra FX9600 at Lyon Part-Dieu. Every delivery period a carton of tagged demo
products is read at the store's receiving dock (and received into stock exactly once); earlier
deliveries have moved on to the sales floor (or the back room) and keep being re-read there. Tags
and serial numbers are deterministic, so restarting the demo re-reads the same tags and never
counts them twice. A third reader posts over HTTP (`POST /api/v1/ingest/payloads?reader=dock-paris-02`, at Paris La Défense).

The Lyon Part-Dieu reader also serves the store's pack station (antenna 3): when a parcel is being packed there, the
reader sees the tags of the units it should hold (tagged units of its products in the store's stock) and the
parcel's own SSCC tag, as a real pack table would, so the store app's RFID check completes without hand-made reads.
Tags that left the store (shipped, sold) are no longer read anywhere. And while Lyon has no order to prepare, the
demo places one (a home delivery in Lyon of two products it holds tagged, served from Lyon), so a newcomer signed in
to the store app always has a parcel to pick, pack, verify and ship.

Without Mosquitto installed the demo still runs: the readers file then lists the HTTP reader only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from fulfil import demo_floor as store_floor
from fulfil.config import Settings
from fulfil.db import unit_of_work
from fulfil.demo import COLOURS, DEMO_COMPANY_PREFIX, GARMENTS, demo_gtin
from hardware.mqtt import MqttConfig
from rfid.epc import encode_sgtin96
from simulators.broker import BrokerError, MosquittoBroker
from simulators.mqtt_readers import MqttReaderSimulator
from simulators.reader_payloads import PayloadFactory, ReaderFormat, ReaderSpec

log = logging.getLogger(__name__)

TOPIC_PREFIX = "fulfil/demo/readers"
CLIENT_ID = "fulfil-demo-ingest"
DELIVERY_TAGS = 12  # tagged items per carton
DELIVERY_SECONDS = 30.0  # a new carton at each store this often
MAX_DELIVERIES = 20  # then the stores keep re-reading what they hold
READS_PER_PAYLOAD = 5
PAYLOADS_PER_SECOND = 2.0


@dataclass(frozen=True)
class DemoReader:
    """One emulated reader: its id, wire format, store and antenna -> zone map (antenna 1 is the receiving dock)."""

    id: str
    fmt: ReaderFormat
    location: str
    antennas: dict[int, str]
    first_serial: int


READERS = (
    DemoReader("r700-paris-01", "impinj", "ST-PARIS-01", {1: "receiving", 2: "salesfloor", 3: "exit-inner", 4: "exit-outer"}, 900_000),
    DemoReader("fx9600-lyon-01", "zebra", "ST-LYON-01", {1: "receiving", 2: "backroom", 3: "pack-station-1"}, 910_000),
)
PACK_READER = READERS[1]  # the reader whose antenna 3 is a pack station
PACK_ANTENNA, PACK_STATION = 3, "pack-station-1"
FLOOR_SECONDS = 1.0  # how often the pack table and the tags that left are looked at
DEMO_ORDER_PREFIX = "DEMO-W-LYON-"
MAX_DEMO_ORDERS = 200
LYON_CUSTOMER = {"name": "Camille Martin", "address_lines": ["12 rue de la République"], "city": "Lyon", "postcode": "69002", "country": "FR",
                 "lat": 45.7597, "lon": 4.8357}
HTTP_READER = ("dock-paris-02", "ST-PARIS-02")


def delivery(reader: DemoReader, number: int) -> list[str]:
    """The EPCs (SGTIN-96 hex) of carton `number` for `reader`'s store: the same every run."""
    products = len(GARMENTS) * len(COLOURS)
    tags = []
    for k in range(DELIVERY_TAGS):
        gtin = demo_gtin(10000 + (number * DELIVERY_TAGS + k) % products)
        tags.append(encode_sgtin96(gtin, reader.first_serial + number * DELIVERY_TAGS + k, len(DEMO_COMPANY_PREFIX)))
    return tags


def readers_toml(with_mqtt: bool) -> str:
    """The demo's readers file (see docs/readers.md): MQTT readers when a broker is available, the HTTP reader always."""
    lines = [
        "# Written by `fulfil serve --demo`; see docs/readers.md for the format.",
        f'client_id = "{CLIENT_ID}"',
        'exit_policy = "loss"',
        "",
        "[zones.receiving]",
        "arrival_reads = 2",
        "arrival_ms = 1000",
        "",
    ]
    for reader in READERS if with_mqtt else ():
        lines += [
            "[[readers]]",
            f'id = "{reader.id}"',
            f'location = "{reader.location}"',
            'transport = "mqtt"',
            f'topic = "{TOPIC_PREFIX}/{reader.id}/events"',
            *([f'status_topic = "{TOPIC_PREFIX}/{reader.id}/status"'] if reader.fmt == "impinj" else []),
            f'format = "{reader.fmt}"',
            "[readers.antennas]",
            *(f'{port} = "{zone}"' for port, zone in reader.antennas.items()),
            "",
        ]
    http_id, http_location = HTTP_READER
    lines += ["[[readers]]", f'id = "{http_id}"', f'location = "{http_location}"', 'transport = "http"', 'format = "auto"',
              "[readers.antennas]", '1 = "receiving"', ""]
    return "\n".join(lines)


@dataclass
class DemoReaders:
    """Owns the demo's broker, readers file and emulated readers; `prepare()` before the app, `stop()` after."""

    var_dir: Path
    broker: MosquittoBroker | None = None
    readers_file: Path | None = None
    simulators: list[MqttReaderSimulator] = field(default_factory=list)
    deliveries: int = 0
    pack_table: tuple[str, ...] = ()  # what the pack-station antenna sees now
    gone: frozenset[str] = frozenset()  # delivered tags that left their store (no longer read)
    factory: sessionmaker[Session] | None = None
    settings: Settings | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def prepare(self, settings: Settings) -> Settings:
        """Settings with the demo readers file (and a private broker unless FULFIL_MQTT_URL names one).

        A readers file of the user's own (FULFIL_READERS_CONFIG) wins: then nothing is emulated."""
        if settings.readers_config is not None:
            return settings
        mqtt_url = settings.mqtt_url
        if mqtt_url is None:
            try:
                self.broker = MosquittoBroker(self.var_dir / "mosquitto").start()
                mqtt_url = self.broker.url
            except BrokerError as exc:
                log.warning("demo readers over MQTT are off: %s", exc)
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.readers_file = self.var_dir / "demo-readers.toml"
        self.readers_file.write_text(readers_toml(with_mqtt=mqtt_url is not None))
        if mqtt_url is not None:
            broker = MqttConfig.from_url(mqtt_url)
            for reader in READERS:
                status = f"{TOPIC_PREFIX}/{reader.id}/status" if reader.fmt == "impinj" else None
                self.simulators.append(MqttReaderSimulator(self._spec(reader, 0), broker, f"{TOPIC_PREFIX}/{reader.id}/events", status_topic=status))
        return settings.model_copy(update={"readers_config": self.readers_file, "mqtt_url": mqtt_url})

    def describe(self) -> list[str]:
        """What the demo set up, for the console."""
        lines = []
        if self.broker is not None:
            lines.append(f"private Mosquitto on {self.broker.url} (persistence in {self.broker.data_dir})")
        if self.simulators:
            lines.append("emulated readers: " + ", ".join(f"{r.id} ({r.fmt}) at {r.location}" for r in READERS)
                         + f"; a carton of {DELIVERY_TAGS} tagged items reaches each store's receiving dock every {DELIVERY_SECONDS:.0f} s")
            lines.append(f"store app: {PACK_READER.location} always has an order to prepare ({DEMO_ORDER_PREFIX}n); pack it at {PACK_STATION}, "
                         f"read by {PACK_READER.id} antenna {PACK_ANTENNA}, and the RFID check completes")
        elif self.readers_file is not None:
            lines.append("Mosquitto is not installed: no emulated MQTT readers; the HTTP reader "
                         f"{HTTP_READER[0]} takes POST /api/v1/ingest/payloads?reader={HTTP_READER[0]} with a device token")
        if self.readers_file is not None:
            lines.append(f"readers file {self.readers_file}; watch a store live: GET /api/v1/locations/ST-PARIS-01/stream")
        return lines

    def start(self, subscribed: Callable[[float], bool] | None = None, factory: sessionmaker[Session] | None = None,
              settings: Settings | None = None) -> None:
        """Connect the emulated readers and publish in the background, once `subscribed(timeout)` says the ingest
        listens (its persistent session then keeps every read, even across restarts). With the app's session
        factory, the pack station reads what is being packed and Lyon always has an order to prepare."""
        self.factory, self.settings = factory, settings
        if not self.simulators:
            return
        self._thread = threading.Thread(target=self._run, args=(subscribed,), name="demo-readers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop publishing, disconnect the readers, stop the broker (its persistence file stays in var/)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for simulator in self.simulators:
            simulator.close()
        if self.broker is not None:
            self.broker.stop()

    def _spec(self, reader: DemoReader, deliveries: int) -> ReaderSpec:
        """What the reader sees once `deliveries` cartons came: the newest at the dock, earlier ones on antenna 2, the
        parcel being packed on the pack station's antenna; tags that left the store nowhere."""
        newest = min(deliveries, MAX_DELIVERIES - 1)
        packing = set(self.pack_table) if reader is PACK_READER else set()
        away = self.gone | packing
        earlier = [epc for number in range(newest) for epc in delivery(reader, number) if epc not in away]
        dock = [epc for epc in delivery(reader, newest) if epc not in away]
        tags = {**({1: dock} if dock else {}), **({2: earlier} if earlier else {}), **({PACK_ANTENNA: sorted(packing)} if packing else {})}
        if not tags:  # a reader always hears something: the dock's carton, even when all of it left
            tags = {1: delivery(reader, newest)}
        return ReaderSpec(reader.id, reader.fmt, tags, events_per_payload=READS_PER_PAYLOAD, duplicate_rate=0.02,
                          reads_per_second=READS_PER_PAYLOAD * PAYLOADS_PER_SECOND, start=datetime.now(UTC), seed=deliveries)

    def _run(self, subscribed: Callable[[float], bool] | None) -> None:
        if subscribed is not None and not subscribed(60.0):
            log.warning("demo readers: the ingest never subscribed; publishing anyway")
        try:
            for simulator in self.simulators:
                simulator.connect()
        except Exception:
            log.exception("demo readers could not connect")
            return
        started = datetime.now(UTC)
        looked = 0.0
        while not self._stop.wait(1.0 / PAYLOADS_PER_SECOND):
            due = min(int((datetime.now(UTC) - started).total_seconds() // DELIVERY_SECONDS), MAX_DELIVERIES - 1)
            changed = due != self.deliveries
            if changed:
                self.deliveries = due
                log.info("demo readers: carton %d arrived at each store's receiving dock", due + 1)
            if self.factory is not None and time.monotonic() - looked >= FLOOR_SECONDS:
                looked = time.monotonic()
                try:
                    changed = self._look_at_the_floor() or changed
                except Exception:  # the demo goes on: the next look may work (a database busy, a restart)
                    log.exception("demo store floor: could not look at the pack station")
            if changed:
                for simulator, reader in zip(self.simulators, READERS, strict=True):
                    simulator.spec = spec = self._spec(reader, due)
                    simulator.factory = PayloadFactory(spec)
            for simulator in self.simulators:
                simulator.publish()

    def _look_at_the_floor(self) -> bool:
        """Update what the pack station sees and which tags left; place Lyon's next order when it has none. True when
        what the readers see changed."""
        assert self.factory is not None
        delivered = [epc for reader in READERS for number in range(min(self.deliveries, MAX_DELIVERIES - 1) + 1) for epc in delivery(reader, number)]
        with unit_of_work(self.factory) as session:
            table = tuple(sorted(store_floor.pack_table(session, PACK_READER.location, PACK_STATION, self.settings.sscc_company_prefix if self.settings else DEMO_COMPANY_PREFIX)))
            gone = frozenset(store_floor.left_the_store(session, delivered))
            if self.settings is not None:
                placed = store_floor.keep_an_order_waiting(session, PACK_READER.location, self.settings, LYON_CUSTOMER, DEMO_ORDER_PREFIX, MAX_DEMO_ORDERS)
                if placed is not None:
                    log.info("demo: order %s placed for %s to prepare", placed, PACK_READER.location)
        changed = table != self.pack_table or gone != self.gone
        self.pack_table, self.gone = table, gone
        return changed

"""`fulfil demo` (and `make run`): the service with the whole demo network at work around it.

It migrates and seeds the configured database (the demo network of fulfil.demo), writes a readers file with a
reader at every location (receiving dock, pack station, and in stores an exit portal), starts a private Mosquitto
when the binary is installed (the readers post over HTTP otherwise), serves the API and the pages in this process,
and runs `simulators.network_sim` against them over the real wire: orders from the web shop and the stores, pickers
working the queues, customers collecting and returning, readers reading. Bounded (`--duration`), it stops there and
prints a summary of what happened, read back from the database, with the stock invariant checked; unbounded, it runs
until interrupted (and prints the same summary then).

The simulated clock runs `--speed` times faster than the wall clock for the simulated people; the service keeps the
wall clock (timestamps, KPIs), except the pickup expiry sweep, which the demo runs on the simulated clock so that
customers who never come see their pickups expire within a demo.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fulfil.auth.service import create_token, list_tokens, revoke_token
from fulfil import demo_floor, demo_summary
from fulfil.config import Settings
from fulfil.db import make_engine, make_session_factory, unit_of_work
from fulfil.errors import Conflict
from fulfil.demo import DEMO_COMPANY_PREFIX, demo_gtin, seed_demo
from fulfil.migrate import upgrade
from fulfil.models import Location, LocationKind, Role
from hardware.mqtt import MqttConfig
from rfid.epc import encode_sgtin96
from simulators.broker import BrokerError, MosquittoBroker
from simulators.mqtt_readers import MqttReaderSimulator
from simulators.network_readers import ANTENNAS, DOCK, EXIT_INNER, EXIT_OUTER, PACK_PORTS, HttpReaderLink, ReaderHub, ReaderLink
from simulators.network_sim import Behaviour, Credentials, Place, Simulation
from simulators.reader_payloads import ReaderSpec

log = logging.getLogger(__name__)

# The simulated readers build their payloads tick by tick: the simulator object only needs a spec to exist.
PLACEHOLDER_EPC = encode_sgtin96(demo_gtin(10000), 1, len(DEMO_COMPANY_PREFIX))
TOPIC_PREFIX = "fulfil/demo/network"
CLIENT_ID = "fulfil-demo-network"
TOKEN_PREFIX = "sim-"  # the demo's own tokens (pickers' handhelds, the web shop, HTTP readers): revoked when it stops
PEOPLE_STORE = "ST-LYON-01"
PEOPLE_STATION = "pack-station-1"  # the store the printed PIN signs in to: simulated pickers leave its new picks to people a while


@dataclass
class DemoOptions:
    speed: float = 10.0
    duration_s: float | None = None
    orders_per_hour: float = 90.0
    seed: int = 1
    host: str = "127.0.0.1"
    port: int = 8000
    var_dir: Path = Path("var")
    summary_json: Path | None = None
    people_store: str | None = PEOPLE_STORE
    readers: str = "auto"  # "mqtt" (a broker: FULFIL_MQTT_URL or a private Mosquitto), "http" (the HTTP ingest), "auto"


@dataclass
class _Running:
    broker: MosquittoBroker | None = None
    links: list[Any] = field(default_factory=list)
    hub: ReaderHub | None = None
    server: Any = None
    thread: threading.Thread | None = None
    watcher: threading.Thread | None = None
    app: Any = None


def readers_toml(places: list[Place], with_mqtt: bool, people_store: str | None = None) -> str:
    """The demo network's readers file (docs/readers.md): one reader per location, MQTT or HTTP; a pack station per
    simulated picker, and one more for people in `people_store`."""
    lines = [
        "# Written by `fulfil demo`; see docs/readers.md for the format.",
        f'client_id = "{CLIENT_ID}"', 'exit_policy = "loss"', "",
        "[zones.receiving]", "arrival_reads = 2", "arrival_ms = 1000", "",
    ]
    workers = Behaviour().workers
    for n in range(1, max(workers.values()) + 2):
        lines += [f"[zones.pack-station-{n}]", "departure_ms = 1500", ""]
    for place in places:
        rid = reader_id(place.id)
        lines += ["[[readers]]", f'id = "{rid}"', f'location = "{place.id}"']
        lines += ['transport = "mqtt"', f'topic = "{TOPIC_PREFIX}/{rid}/events"'] if with_mqtt else ['transport = "http"']
        lines += ['format = "impinj"', "[readers.antennas]"]
        stations = PACK_PORTS[:workers.get(place.kind, 1) + (1 if place.id == people_store else 0)]
        ports = (DOCK, *stations, EXIT_INNER, EXIT_OUTER) if place.kind == "store" else (DOCK, *stations)
        lines += [f'{port} = "{ANTENNAS[port]}"' for port in ports] + [""]
    return "\n".join(lines)


def reader_id(location: str) -> str:
    return f"sim-{location.lower()}"


def _places(session: Session) -> list[Place]:
    rows = session.scalars(select(Location).where(Location.active.is_(True)).order_by(Location.id))
    return [Place(loc.id, "warehouse" if loc.kind is LocationKind.WAREHOUSE else "store", loc.lat, loc.lon, loc.name) for loc in rows]


def _shelves(session: Session) -> dict[str, dict[str, list[str]]]:
    """The registered tags in stock at each location, by product: the simulated staff know what their shelves hold."""
    from fulfil.models import RfidTag, TagState

    shelves: dict[str, dict[str, list[str]]] = {}
    for epc, location, gtin in session.execute(select(RfidTag.epc, RfidTag.location_id, RfidTag.gtin)
                                               .where(RfidTag.state == TagState.IN_STOCK, RfidTag.location_id.is_not(None)).order_by(RfidTag.epc)):
        if location is not None and gtin is not None:
            shelves.setdefault(location, {}).setdefault(gtin, []).append(epc)
    return shelves


def _popular_gtins(session: Session) -> list[str]:
    """The catalogue, best sellers first (the demo's seed stocks more of those: its order is the popularity)."""
    from fulfil.models import Product

    return list(session.scalars(select(Product.gtin).order_by(Product.gtin)))


class Demo:
    """One demo run; `run()` returns the process's exit status."""

    def __init__(self, settings: Settings, options: DemoOptions, out: TextIO = sys.stdout) -> None:
        self.settings = settings
        self.options = options
        self.out = out
        self.stop = threading.Event()
        self.running = _Running()

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def run(self) -> int:
        o = self.options
        listener = _listen(o.host, o.port)
        base = f"http://{o.host}:{listener.getsockname()[1]}"
        engine = make_engine(self.settings.database_url)
        factory = make_session_factory(engine)
        try:
            self.say(f"seeding [1/4] migrating the database ({self.settings.database_url.split('://', 1)[0]})")
            upgrade(self.settings.database_url)
            self.say("seeding [2/4] the demo network: warehouses, stores, products, stock")
            with unit_of_work(factory) as session:
                report = seed_demo(session, self.settings, tagged=True)
                places, gtins, shelves = _places(session), _popular_gtins(session), _shelves(session)
            self.say(f"           {len(places)} locations, {len(gtins)} products"
                     + (f", {report.stock_records} stock records created" if report.locations else " (already there)"))
            self.say("seeding [3/4] readers at every location, tokens for the simulated people")
            settings, hub_links = self._readers(places)
            credentials, device_tokens = self._tokens(factory, places, with_devices=settings.mqtt_url is None)
            from fulfil.commands.staff import DEMO_PIN_FILE, DEMO_STORE, demo_pin
            from fulfil.commands.token import DEMO_TOKEN_FILE, demo_token

            with unit_of_work(factory) as session:
                ops_secret, _ = demo_token(session, o.var_dir / DEMO_TOKEN_FILE.name)
                pin, _ = demo_pin(session, o.var_dir / DEMO_PIN_FILE.name)
            self.say("seeding [4/4] starting the service")
            app = self._serve(settings, listener, base)
            mqtt = app.state.ingest.mqtt if app.state.ingest is not None else None
            if mqtt is not None and not mqtt.subscriber.wait_ready(60.0):
                self.say("demo: the ingest did not subscribe within 60 s; readers publish anyway")
            links: dict[str, tuple[str, ReaderLink]] = hub_links if settings.mqtt_url is not None else {
                p.id: (reader_id(p.id), HttpReaderLink(base, reader_id(p.id), device_tokens[p.id])) for p in places}
            self.running.links = [link for _rid, link in links.values()]
            hub = self.running.hub = ReaderHub(links)
            hub.start()
            if self._people_store() is not None:
                self._watch_the_people_station(factory, hub)
            self._banner(base, ops_secret, pin, DEMO_STORE, settings)
            sim = Simulation(
                base, places, gtins, credentials, hub, shelves=shelves,
                behaviour=Behaviour(orders_per_hour=o.orders_per_hour, people_store=self._people_store()),
                speed=o.speed, seed=o.seed, company_prefix_length=len(DEMO_COMPANY_PREFIX),
                on_clock=lambda now: self._sweep(factory, now), progress=self.say,
                progress_every_s=max(60.0, 10.0 * o.speed),
            )
            started = datetime.now(UTC)
            tally = sim.run(o.duration_s, self.stop)
            hub.stop()
            demo_summary.settle(factory, started)
            summary = demo_summary.summarise(factory, sim, started, self.options.speed)
            for line in demo_summary.lines(summary):
                self.say(line)
            if o.summary_json is not None:
                o.summary_json.write_text(json.dumps(summary, indent=2, default=str))
            ok = not summary["stock"]["drifts"] and tally.server_errors == 0
            return 0 if ok else 1
        finally:
            self._shutdown(factory)
            listener.close()
            engine.dispose()

    # -- set-up ----------------------------------------------------------------------------------------------------

    def _people_store(self) -> str | None:
        """The store left partly to people: only in an unbounded demo (`make run`)."""
        return self.options.people_store if self.options.duration_s is None else None

    def _readers(self, places: list[Place]) -> tuple[Settings, dict[str, tuple[str, ReaderLink]]]:
        """The readers file and, with a broker (FULFIL_MQTT_URL, else a private Mosquitto), an MQTT link per reader."""
        settings = self.settings
        mqtt_url = settings.mqtt_url if self.options.readers != "http" else None
        if mqtt_url is None and self.options.readers != "http":
            try:
                self.running.broker = MosquittoBroker(self.options.var_dir.resolve() / "mosquitto").start()
                mqtt_url = self.running.broker.url
                self.say(f"           a private Mosquitto on {mqtt_url}")
            except BrokerError as exc:
                if self.options.readers == "mqtt":
                    raise Conflict(f"--readers mqtt needs a broker: {exc}", code="no_broker") from exc
                self.say(f"           no MQTT broker ({exc}): the readers post to the HTTP ingest instead")
        self.options.var_dir.mkdir(parents=True, exist_ok=True)
        path = self.options.var_dir / "demo-network-readers.toml"
        path.write_text(readers_toml(places, with_mqtt=mqtt_url is not None, people_store=self._people_store()))
        links: dict[str, tuple[str, ReaderLink]] = {}
        if mqtt_url is not None:
            broker = MqttConfig.from_url(mqtt_url)
            for place in places:
                rid = reader_id(place.id)
                link = _MqttLink(MqttReaderSimulator(ReaderSpec(rid, "impinj", {DOCK: [PLACEHOLDER_EPC]}), broker, f"{TOPIC_PREFIX}/{rid}/events"))
                links[place.id] = (rid, link)
        self.say(f"           readers file {path}: {len(places)} readers ({'MQTT' if mqtt_url else 'HTTP'})")
        return settings.model_copy(update={"readers_config": path, "mqtt_url": mqtt_url, "pickup_sweep_interval_seconds": 0}), links

    def _tokens(self, factory: sessionmaker[Session], places: list[Place], *, with_devices: bool) -> tuple[Credentials, dict[str, str]]:
        """Fresh tokens for the simulated people (earlier runs' are revoked first)."""
        with unit_of_work(factory) as session:
            for token in list_tokens(session):
                if token.name.startswith(TOKEN_PREFIX):
                    revoke_token(session, token.id)
            ops = create_token(session, role=Role.OPS, name=f"{TOKEN_PREFIX}customer-inbox").secret
            channel = create_token(session, role=Role.CHANNEL, name=f"{TOKEN_PREFIX}web-shop").secret
            # Store staff have picker tokens scoped to their store; a warehouse's team works with an ops token of its own
            # (picker tokens are for stores).
            pickers = {p.id: create_token(session, role=Role.PICKER if p.kind == "store" else Role.OPS, name=f"{TOKEN_PREFIX}picker-{p.id}",
                                          location_id=p.id if p.kind == "store" else None).secret for p in places}
            devices = {p.id: create_token(session, role=Role.DEVICE, name=f"{TOKEN_PREFIX}reader-{p.id}", location_id=p.id).secret
                       for p in places} if with_devices else {}
        return Credentials(ops=ops, channel=channel, pickers=pickers), devices

    def _serve(self, settings: Settings, listener: socket.socket, base: str) -> Any:
        import uvicorn

        from fulfil.app import create_app

        app = create_app(settings)
        # Open pages (live streams) do not hold the demo up more than a few seconds after Ctrl-C.
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", log_config=None, timeout_graceful_shutdown=5))
        self.running.app = app
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="demo-server", daemon=True)
        self.running.server, self.running.thread = server, thread
        thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.started:
                try:
                    if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                        return app
                except httpx.HTTPError:
                    pass
            if not thread.is_alive():
                break
            time.sleep(0.05)  # polling the server's start, bounded by the deadline
        raise RuntimeError("the demo's server did not start")

    def _banner(self, base: str, ops_secret: str, pin: str, store: str, settings: Settings) -> None:
        o = self.options
        bounded = f"for {_hms(o.duration_s)} simulated" if o.duration_s is not None else "until Ctrl-C"
        self.say("")
        self.say(f"Fulfil demo on {base}: a simulated network at {o.speed:g}x speed, {o.orders_per_hour:g} orders per simulated hour, {bounded}")
        self.say(f"  Ops console  {base}/ops      token: {ops_secret}")
        self.say(f"  Store app    {base}/store    store: Lyon Part-Dieu ({store})  PIN: {pin}")
        self.say(f"  API docs     {base}/docs     (the same ops token as a Bearer token)")
        if o.people_store and o.duration_s is None:
            self.say(f"  At {o.people_store} new picks wait {Behaviour().people_grace_minutes:g} simulated minutes for you before a simulated picker takes them.")
        self.say("")

    def _watch_the_people_station(self, factory: sessionmaker[Session], hub: ReaderHub) -> None:
        """What lies on the people's pack station (pack-station-1 at the people's store): the tagged units of the
        parcel a person is packing there, and its own SSCC tag, looked at every second, as the reader would see them."""
        store = self._people_store()
        assert store is not None
        prefix = self.settings.sscc_company_prefix or DEMO_COMPANY_PREFIX

        def watch() -> None:
            while not self.stop.wait(1.0):
                try:
                    with unit_of_work(factory) as session:
                        table = demo_floor.pack_table(session, store, PEOPLE_STATION, prefix)
                    hub.set_table(store, PACK_PORTS[0], table)
                except Exception:  # the demo goes on: the next look may work
                    log.exception("demo: could not look at the people's pack station")

        self.running.watcher = threading.Thread(target=watch, name="demo-people-station", daemon=True)
        self.running.watcher.start()

    # -- the simulated clock's jobs, the end -----------------------------------------------------------------------

    def _sweep(self, factory: sessionmaker[Session], now: datetime) -> None:
        """Pickup reminders and expiry on the simulated clock (the service's own sweep is off in the demo)."""
        from fulfil.pickups.expiry import sweep

        try:
            sweep(factory, max(now, datetime.now(UTC)), self.settings.pickup_reminder_hours)
        except Exception:  # the demo goes on; the next quarter sweeps again
            log.exception("demo pickup sweep failed")

    def _shutdown(self, factory: sessionmaker[Session]) -> None:
        r = self.running
        self.stop.set()
        if r.watcher is not None:
            r.watcher.join(timeout=10)
        if r.hub is not None:
            r.hub.stop()
        for link in r.links:
            close = getattr(link, "close", None)
            if close is not None:
                close()
        if r.app is not None:
            r.app.state.stopping = True  # open pages' live streams end, so the server stops at once
        if r.server is not None:
            r.server.should_exit = True
        if r.thread is not None:
            r.thread.join(timeout=30)
        try:
            with unit_of_work(factory) as session:
                for token in list_tokens(session):
                    if token.name.startswith(TOKEN_PREFIX):
                        revoke_token(session, token.id)
        except Exception:
            log.exception("demo: could not revoke the simulated people's tokens")
        if r.broker is not None:
            r.broker.stop()


class _MqttLink:
    """A reader's MQTT connection, connected on first use."""

    def __init__(self, simulator: MqttReaderSimulator) -> None:
        self._simulator = simulator
        self._connected = False

    def send(self, payload: bytes) -> None:
        if not self._connected:
            self._simulator.connect()
            self._connected = True
        self._simulator.publish_raw(payload)

    def close(self) -> None:
        self._simulator.close()


def _listen(host: str, port: int) -> socket.socket:
    from fulfil.commands.serve import _listen as bind

    return bind(host, port)


def _hms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    h, rest = divmod(int(seconds), 3600)
    return f"{h}h{rest // 60:02d}m" if h else f"{rest // 60}m{rest % 60:02d}s"

"""From payloads to committed effects: parse, smooth, apply facts in one transaction per batch, then acknowledge."""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from fulfil.db import unit_of_work
from fulfil.ingest.bulk import locate_known_tags, receive_new_tags
from fulfil.ingest.config import IngestConfig, zone_kind
from fulfil.ingest.effects import apply_fact
from fulfil.ingest.outcomes import Effect, Outcome, Site
from fulfil.ingest.parsing import Job, Rows
from rfid.facts import Fact
from rfid.payloads import detect_format, parse_payload, parse_status
from rfid.payloads.lean import LEAN_PARSERS
from rfid.reads import ParseResult, ReaderEvent, TagRead
from rfid.smoothing import SmoothingEngine

log = logging.getLogger(__name__)

# How many rejected payloads are logged with a sample of their bytes before logging goes quiet.
REJECTION_SAMPLES_LOGGED = 20
SAMPLE_BYTES = 120
# How many quarantined facts the status keeps (all are counted and logged).
QUARANTINE_KEPT = 100


def database_unavailable(exc: BaseException) -> bool:
    """The database could not be reached or was busy (retry the batch later), as opposed to the batch failing."""
    return isinstance(exc, OperationalError | InterfaceError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One payload as a transport received it, for `IngestPipeline.jobs` and `IngestPipeline.feed_parsed`."""

    payload: bytes
    reader: str
    fmt: str = "auto"
    received_at: datetime | None = None
    status: bool = False


_KIND_WORDS = re.compile(r"[a-z][a-z ]{1,38}[a-z]")


def rejection_kind(reason: str) -> str:
    """A rejection's kind, for a metric label: the words before the reason's first colon ("invalid JSON: …" ->
    "invalid_json"), or "other" when they hold anything but letters (an EPC, a number): a bounded set of labels."""
    head = reason.split(":", 1)[0].strip().lower()
    return head.replace(" ", "_") if _KIND_WORDS.fullmatch(head) else "other"


@dataclass
class IngestCounters:
    """What the pipeline has seen: payloads, reads, rejections, facts and the effects they had."""

    payloads: int = 0
    reads: int = 0
    reader_events: int = 0
    rejected: int = 0
    facts: int = 0
    commits: int = 0
    commit_failures: int = 0
    quarantined: int = 0  # facts that failed on their own and were dropped (see IngestPipeline.quarantine)
    effects: Counter[str] = field(default_factory=Counter)
    rejected_by_kind: Counter[str] = field(default_factory=Counter)  # rejection_kind(reason) -> count
    last_rejection: str | None = None

    def as_dict(self) -> dict[str, object]:
        """A JSON-friendly snapshot."""
        return {
            "payloads": self.payloads, "reads": self.reads, "reader_events": self.reader_events, "rejected": self.rejected,
            "facts": self.facts, "commits": self.commits, "commit_failures": self.commit_failures, "quarantined": self.quarantined,
            "effects": dict(self.effects), "rejected_by_kind": dict(self.rejected_by_kind), "last_rejection": self.last_rejection,
        }


class IngestPipeline:
    """One smoothing engine for the configured site(s) and the unit of work that applies its facts.

    Thread-safe: transports (MQTT loop, serial drivers, the HTTP route) feed it concurrently.
    Facts wait in `pending` until a commit succeeds, so a database outage delays effects but loses none."""

    def __init__(self, config: IngestConfig, factory: sessionmaker[Session], on_effects: Callable[[list[Effect]], None] | None = None) -> None:
        self.config = config
        self.factory = factory
        self.engine = SmoothingEngine(
            config.layout(), time_source=config.time_source, hold_off_ms=config.hold_off_ms, move_margin_db=config.move_margin_db
        )
        self.site = Site({k: (loc, z, zone_kind(z)) for k, (loc, z) in config.zone_names().items()}, config.exit_policy, self.engine.tags_in)
        self.counters = IngestCounters()
        self.pending: list[tuple[Fact, str | None]] = []
        self.on_effects = on_effects
        self.quarantine: deque[dict[str, str | None]] = deque(maxlen=QUARANTINE_KEPT)  # the latest quarantined facts
        self._lock = threading.RLock()
        self._reader_of_zone = config.sole_readers()

    def feed_payload(self, payload: bytes, *, reader: str, fmt: str = "auto", received_at: datetime | None = None, status: bool = False) -> ParseResult:
        """Parse one payload of `reader` and smooth its reads; rejections are counted and logged, never raised."""
        result = parse_status(payload, reader=reader, received_at=received_at) if status else parse_payload(payload, fmt, reader=reader, received_at=received_at)
        with self._lock:
            self.counters.payloads += 1
            for rejection in result.rejections:
                self.counters.rejected += 1
                self.counters.rejected_by_kind[rejection_kind(rejection.reason)] += 1
                self.counters.last_rejection = rejection.reason
                if self.counters.rejected <= REJECTION_SAMPLES_LOGGED:
                    log.warning("reader %s: payload rejected: %s; sample %r", reader, rejection.reason, rejection.raw[:SAMPLE_BYTES])
            self._observe(result.reads, result.events)
        return result

    def jobs(self, deliveries: Sequence[Delivery]) -> list[Job | None]:
        """For each delivery, the job a lean decoder can take (see fulfil.ingest.parsing), or None for the checked path.

        Impinj and Zebra arrays of valid tag reads go straight to the smoothing engine as rows (rfid.payloads.lean,
        the same smoothing input as parse + observe); status messages, text lines and anything the lean decoder
        declines take the checked path of `feed_payload`, with its events, rejections and logging."""
        reader_clock = self.engine.time_source == "reader"
        out: list[Job | None] = []
        for d in deliveries:
            fmt = detect_format(d.payload) if d.fmt == "auto" else d.fmt
            if d.status or fmt not in LEAN_PARSERS:
                out.append(None)
            else:
                out.append((d.payload, fmt, d.reader, reader_clock, (d.received_at or datetime.now(UTC)).timestamp()))
        return out

    def feed_parsed(self, deliveries: Sequence[Delivery], rows: Sequence[Rows]) -> int:
        """Smooth deliveries whose lean rows are known (None: take the checked path), in order, under one lock;
        the number of reads smoothed."""
        feed_rows = self.engine.feed_rows
        counters = self.counters
        reads = 0
        with self._lock:
            for d, these in zip(deliveries, rows, strict=True):
                try:
                    if these is not None:
                        counters.payloads += 1
                        counters.reads += len(these)
                        reads += len(these)
                        feed_rows(these)
                    else:
                        reads += len(self.feed_payload(d.payload, reader=d.reader, fmt=d.fmt, received_at=d.received_at, status=d.status).reads)
                except Exception as exc:  # noqa: BLE001 - a payload that breaks smoothing (a bug) must not block the ones after it
                    self._reject_locked(d.reader, f"smoothing failed: {type(exc).__name__}: {exc}"[:200], d.payload)
                    log.exception("reader %s: smoothing a payload failed", d.reader)
        return reads

    def feed(self, reads: Iterable[TagRead] = (), events: Iterable[ReaderEvent] = ()) -> None:
        """Smooth reads and reader events that a driver already decoded (serial readers)."""
        with self._lock:
            self._observe(list(reads), list(events))

    def reject(self, reader: str, reason: str, raw: bytes = b"") -> None:
        """Count and log input a transport could not decode (bad frames)."""
        with self._lock:
            self._reject_locked(reader, reason, raw)

    def _reject_locked(self, reader: str, reason: str, raw: bytes) -> None:
        self.counters.rejected += 1
        self.counters.rejected_by_kind[rejection_kind(reason)] += 1
        self.counters.last_rejection = reason
        if self.counters.rejected <= REJECTION_SAMPLES_LOGGED:
            log.warning("reader %s: input rejected: %s; sample %r", reader, reason, raw[:SAMPLE_BYTES])

    def _observe(self, reads: list[TagRead], events: list[ReaderEvent]) -> None:
        for event in events:
            self.counters.reader_events += 1
            self.engine.apply(event)
        self.counters.reads += len(reads)
        self.engine.observe_all(reads)

    def commit(self, now: datetime | None = None) -> list[Effect]:
        """Conclude what time allows (departures, portal passages), apply every pending fact in one transaction."""
        with self._lock:
            self.engine.tick(now or datetime.now(UTC))
            fresh = self.engine.drain()
            self.counters.facts += len(fresh)
            self.pending.extend((f, self._reader_of(f)) for f in fresh)
            if not self.pending:
                return []
            try:
                with unit_of_work(self.factory) as session:
                    effects, handled = receive_new_tags(session, self.pending, self.site)
                    located, also = locate_known_tags(session, self.pending, self.site, handled)
                    effects += located
                    handled |= also
                    effects += [e for i, (f, reader) in enumerate(self.pending) if i not in handled for e in apply_fact(session, f, self.site, reader)]
            except Exception as exc:
                self.counters.commit_failures += 1
                if database_unavailable(exc):
                    log.exception("ingest commit failed; %d facts kept for the next attempt", len(self.pending))
                    raise
                # Something in the batch itself fails (a constraint, a bug): one bad fact must not hold up the rest.
                log.warning("ingest batch of %d facts failed (%s); applying them one by one", len(self.pending), exc)
                effects = self._apply_one_by_one()
            self.pending.clear()
            self.counters.commits += 1
            self.counters.effects.update(e.outcome.value for e in effects)
        for e in effects:
            if e.outcome is Outcome.ANOMALY:  # logged once, after the commit that recorded it
                log.warning("anomaly: tag %s (GTIN %s) at %s: %s", e.epc, e.gtin, e.location, e.detail)
        if effects and self.on_effects is not None:
            self.on_effects(effects)
        return effects

    def _apply_one_by_one(self) -> list[Effect]:
        """Each pending fact in a transaction of its own; one that still fails is quarantined (counted, logged, listed
        in the status) and dropped. A lost database stops the loop and keeps the facts not applied yet."""
        effects: list[Effect] = []
        for index, (fact, reader) in enumerate(self.pending):
            try:
                with unit_of_work(self.factory) as session:
                    applied = apply_fact(session, fact, self.site, reader)
            except Exception as exc:
                if database_unavailable(exc):
                    del self.pending[:index]
                    raise
                self.counters.quarantined += 1
                self.quarantine.append({"fact": repr(fact), "reader": reader, "error": f"{type(exc).__name__}: {exc}"[:300]})
                log.error("ingest fact quarantined (not applied): %r from reader %s: %s", fact, reader, exc)
                continue
            effects += applied
        return effects

    def _reader_of(self, fact: Fact) -> str | None:
        zone = getattr(fact, "zone", None) or getattr(fact, "to_zone", None) or getattr(fact, "portal", None)
        return self._reader_of_zone.get(zone) if isinstance(zone, str) else None

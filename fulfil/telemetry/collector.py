"""Metrics read when Prometheus scrapes: nothing is counted twice and nothing drifts from the truth.

- Which singleton background jobs this process leads (`fulfil_job_leader`, 1 in exactly one process of the cluster
  per job: `sum` across processes is 1). Under `fulfil serve --workers N` the workers' shared files answer it
  instead, added up over the live workers (fulfil.telemetry.multiprocess): this collector is then given no jobs.
- From this process's ingest runtime (when it ingests): payloads, reads, rejections by kind, facts waiting for a
  commit (the queue depth), the MQTT session (connected, reconnects, messages queued in the parse process), and
  serial readers online. Per process: Prometheus adds them up.
- From the database, the whole cluster's state whichever process is scraped (take `max` across processes, not
  `sum`): webhook deliveries by status (pending is the dispatch queue), parcel verdicts by outcome, stock holds by
  status, and the last finished batch routing run (its duration, cost, lower bound and gap). Each is one indexed or
  grouped query; a database that does not answer leaves them out of that scrape (and `fulfil_database_up` 0) rather
  than failing it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fulfil.db import unit_of_work
from fulfil.models import DeliveryStatus, HoldStatus, ParcelVerification, RoutingRun, StockHold, WebhookDelivery

log = logging.getLogger(__name__)


class ServiceCollector(Collector):
    """The scrape-time metrics of one application (its ingest runtime and its database)."""

    def __init__(self, factory: sessionmaker[Session], ingest: Any | None, jobs: Callable[[], dict[str, str]] | None = None) -> None:
        self.factory = factory
        self.ingest = ingest
        self.jobs = jobs

    def collect(self) -> Iterator[Metric]:
        if self.ingest is not None:
            yield from _ingest(self.ingest.status())
        if self.jobs is not None:
            yield from _leadership(self.jobs())
        yield from self._database()

    def _database(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("fulfil_database_up", "Whether the database answered this scrape's queries (1) or not (0).")
        try:
            with unit_of_work(self.factory) as session:
                rows = _database_rows(session)
        except Exception as exc:  # the scrape still answers: the process is up, the database is not
            log.warning("metrics: the database did not answer: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from rows


def _database_rows(session: Session) -> list[Metric]:
    out: list[Metric] = []
    deliveries = GaugeMetricFamily("fulfil_webhook_deliveries", "Webhook deliveries by status (pending: the dispatch queue; failed: dead after every retry).", labels=["status"])
    counts = dict(session.execute(select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)).all())
    for delivery_status in DeliveryStatus:
        deliveries.add_metric([delivery_status.value], float(counts.get(delivery_status, 0)))
    out.append(deliveries)
    verdicts = CounterMetricFamily("fulfil_parcel_verifications", "RFID verdicts on parcels at pack stations, by outcome.", labels=["outcome"])
    complete = dict(session.execute(select(ParcelVerification.complete, func.count()).group_by(ParcelVerification.complete)).all())
    verdicts.add_metric(["complete"], float(complete.get(True, 0)))
    verdicts.add_metric(["incomplete"], float(complete.get(False, 0)))
    out.append(verdicts)
    holds = GaugeMetricFamily("fulfil_stock_holds", "Stock holds by status (active: units reserved for a checkout now).", labels=["status"])
    by_status = dict(session.execute(select(StockHold.status, func.count()).group_by(StockHold.status)).all())
    for hold_status in HoldStatus:
        holds.add_metric([hold_status.value], float(by_status.get(hold_status, 0)))
    out.append(holds)
    run = session.scalars(
        select(RoutingRun).where(RoutingRun.kind == "batch", RoutingRun.status == "done").order_by(RoutingRun.id.desc()).limit(1)
    ).first()
    if run is not None:
        last = GaugeMetricFamily("fulfil_routing_last_batch", "The last finished batch routing run: seconds, cost before/after, lower bound, orders.", labels=["field"])
        for field, value in (("seconds", run.seconds), ("cost_before", run.cost_before), ("cost_after", run.cost_after),
                             ("lower_bound", run.lower_bound), ("orders", run.orders), ("moved", run.moved), ("split_orders", run.split_orders),
                             ("unfilled_units", run.unfilled_units), ("finished_timestamp", run.finished_at.timestamp() if run.finished_at else None)):
            if value is not None:
                last.add_metric([field], float(value))
        out.append(last)
        if run.cost_after is not None and run.lower_bound:
            gap = GaugeMetricFamily("fulfil_routing_last_batch_gap_ratio", "The last batch run's cost over its lower bound, minus 1 (0: proven optimal).")
            gap.add_metric([], max(run.cost_after / run.lower_bound - 1.0, 0.0))
            out.append(gap)
    return out


def _leadership(jobs: dict[str, str]) -> Iterator[Metric]:
    leader = GaugeMetricFamily(
        "fulfil_job_leader", "Whether this process leads a singleton background job (1) or stands by (0); jobs turned off are left out.", labels=["job"],
    )
    for job, state in sorted(jobs.items()):
        if state in ("leader", "standby"):
            leader.add_metric([job], 1.0 if state == "leader" else 0.0)
    yield leader


def _ingest(status: dict[str, Any]) -> Iterator[Metric]:
    pipeline = status["pipeline"]
    for name, key, text in (
        ("fulfil_ingest_payloads", "payloads", "Reader payloads (or frames) received by this process."),
        ("fulfil_ingest_reads", "reads", "Tag reads parsed from them (rate(): reads per second)."),
        ("fulfil_ingest_facts", "facts", "Facts the smoothing made of the reads (arrivals, departures, moves)."),
        ("fulfil_ingest_commits", "commits", "Transactions that applied facts."),
        ("fulfil_ingest_commit_failures", "commit_failures", "Commits that failed (the facts wait and are tried again)."),
        ("fulfil_ingest_quarantined_facts", "quarantined", "Facts dropped after failing on their own."),
    ):
        counter = CounterMetricFamily(name, text)
        counter.add_metric([], float(pipeline[key]))
        yield counter
    rejected = CounterMetricFamily("fulfil_ingest_rejected", "Input refused (malformed payloads and frames), by kind of reason.", labels=["reason"])
    for kind, count in sorted(pipeline["rejected_by_kind"].items()):
        rejected.add_metric([kind], float(count))
    yield rejected
    pending = GaugeMetricFamily("fulfil_ingest_pending_facts", "Facts waiting for a commit (the ingest queue's depth).")
    pending.add_metric([], float(status["pending_facts"]))
    yield pending
    mqtt = status.get("mqtt")
    if mqtt is not None:
        connected = GaugeMetricFamily("fulfil_mqtt_connected", "Whether this process's MQTT session to the broker is up (1) or not (0).")
        connected.add_metric([], 1.0 if mqtt["connected"] else 0.0)
        yield connected
        for name, key, text in (
            ("fulfil_mqtt_messages_received", "received", "MQTT messages received."),
            ("fulfil_mqtt_reconnects", "reconnects", "Reconnections to the broker."),
            ("fulfil_mqtt_messages_dropped", "dropped", "MQTT messages dropped (not ingested)."),
        ):
            counter = CounterMetricFamily(name, text)
            counter.add_metric([], float(mqtt[key]))
            yield counter
        queued = GaugeMetricFamily("fulfil_mqtt_messages_queued", "MQTT messages received and not yet acknowledged (in the parse pipeline).")
        queued.add_metric([], float(mqtt["queued"]))
        yield queued
    if status.get("serial"):
        online = GaugeMetricFamily("fulfil_serial_reader_online", "Whether a serial reader's port is open and answering (1) or not (0).", labels=["reader"])
        for reader, state in sorted(status["serial"].items()):
            online.add_metric([reader], 1.0 if state["online"] else 0.0)
        yield online

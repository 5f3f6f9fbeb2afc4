"""The process's own metrics, in one registry (prometheus-client). Counters and histograms here are per process:
Prometheus adds them up across processes. Buckets are chosen for what each measures.

Under `fulfil serve --workers N` the values live in files the workers share (fulfil.telemetry.multiprocess) and a
scrape of any worker adds up every worker's: `SHARED_DIRECTORY` names them, None in one process."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from fulfil.telemetry.multiprocess import configured

# Read when prometheus_client has just chosen, from the same environment, where this process's values live.
SHARED_DIRECTORY = configured()

REGISTRY = CollectorRegistry(auto_describe=True)

# Request latency from the first byte in to the last byte out; 5 ms to 10 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "fulfil_http_requests", "HTTP requests answered, by method, route template and status code.", ["method", "route", "status"], registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "fulfil_http_request_duration_seconds", "Time to answer an HTTP request, by method and route template (streams: until they end).",
    ["method", "route"], buckets=LATENCY_BUCKETS, registry=REGISTRY,
)
REALTIME_ROUTE = Histogram(
    "fulfil_routing_realtime_duration_seconds", "One order routed in real time (at intake, a re-route, a short pick): decision and its shipments.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0), registry=REGISTRY,
)
BATCH_FALLBACKS = Counter(
    "fulfil_routing_batch_fallbacks", "Batch routing runs whose plan reports a fallback, by reason: the time-limit guard "
    "fired (guard), greedy's plan was returned unimproved (greedy), the LP bound is missing or weaker (lp).",
    ["reason"], registry=REGISTRY,
)
EVENT_READERS_GAVE_UP = Counter(
    "fulfil_event_reader_unwaited", "Transactions writing events that readers (live streams, GET /stock/events) stopped waiting "
    "for, by table: open longer than a stream's 30 s or a reader's first 5 s (fulfil.horizon; an event they commit later "
    "below a reader's cursor is not sent to it).", ["table"], registry=REGISTRY,
)
BATCH_RUN = Histogram(
    "fulfil_routing_batch_duration_seconds", "A batch routing run (re-optimisation of the open orders), start to finish.",
    buckets=(0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0), registry=REGISTRY,
)

# Which singleton jobs each worker leads, for the shared files only: a worker writes its part whenever it asks for its
# leads, and a scrape adds up the live workers' (1 per job). One process answers fulfil_job_leader from its own jobs'
# states when scraped (fulfil.telemetry.collector), so this gauge is in no registry.
JOB_LEADER = Gauge(
    "fulfil_job_leader", "Whether a process leads a singleton background job (1) or stands by (0), summed over the live "
    "workers; jobs turned off are left out.", ["job"], multiprocess_mode="livesum", registry=None,
)


def publish_leadership(states: Mapping[str, str]) -> None:
    """This process's part of fulfil_job_leader: 1 per job it leads, 0 per job it stands by for (others left out)."""
    for job, state in states.items():
        if state in ("leader", "standby"):
            JOB_LEADER.labels(job).set(1.0 if state == "leader" else 0.0)

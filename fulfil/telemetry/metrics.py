"""The process's own metrics, in one registry (prometheus-client). Counters and histograms here are per process:
Prometheus adds them up across processes. Buckets are chosen for what each measures."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

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

"""What operators watch: Prometheus metrics at /metrics, a request id on every answer and log line, JSON logs.

- `context`: the current request's id (a context variable: error bodies and log lines read it).
- `metrics`: the process's own metrics (HTTP traffic, routing latency) in one registry.
- `multiprocess`: under `fulfil serve --workers N`, the workers' metrics in files they share, added up by any scrape.
- `collector`: metrics read when scraped: the ingest runtime's counters and the broker connection, and the state
  the database holds for the whole cluster (webhook deliveries, holds, parcel verdicts, the last batch run).
- `middleware`: the request id, the HTTP metrics and the access log line of each request.
- `logs`: text or JSON log lines, each carrying the request id.
- `endpoints`: GET /metrics (an ops token).
See docs/operations.md.
"""

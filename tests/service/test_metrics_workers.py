"""/metrics behind `fulfil serve --workers 2` (prometheus_client's multiprocess mode), with real processes on
PostgreSQL: every scrape, whichever worker answers, counts every worker's requests; a worker killed and replaced
takes nothing back; `fulfil_job_leader` sums to 1 per job across the workers, after a takeover too; the metric names
and types are the ones a single process exposes. On SQLite (one process, by rule) one `fulfil serve` keeps its
metrics in memory even when PROMETHEUS_MULTIPROC_DIR is set. And the supervisor's directory, private or the
operator's."""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from pathlib import Path

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from fulfil.db import is_sqlite, make_engine, make_session_factory
from fulfil.telemetry.collector import ServiceCollector
from fulfil.telemetry.metrics import REGISTRY
from fulfil.telemetry.multiprocess import ENV, shared_directory
from tests.service.cluster import JOBS, START_DEADLINE_S, STOP_DEADLINE_S, Server, cluster_env, one_lock_each, start, worker_pids
from tests.service.test_cli import run, serving
from tests.waiting import wait_for

REQUESTS = 40  # at least this many, on new connections, until each worker answered some
SCRAPES = 8
TAKEOVER_DEADLINE_S = 60.0  # a replacement worker starts (an interpreter importing the service on 2 busy cores)
HEALTHZ = {"method": "GET", "route": "/healthz", "status": "200"}
SCRAPED = {"method": "GET", "route": "/metrics", "status": "200"}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> tuple[Samples, dict[str, str]]:
    """A scrape's samples, (name, sorted labels) -> value, and its families' types by name."""
    families = list(text_string_to_metric_families(text))
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}
    return samples, {f.name: f.type for f in families}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def leads(samples: Samples) -> dict[str, float]:
    """fulfil_job_leader per job, as scraped."""
    return {dict(labels)["job"]: v for (name, labels), v in samples.items() if name == "fulfil_job_leader"}


class Scraper:
    """GET /metrics on a new connection each time (any worker may answer), counting its own scrapes: they are
    requests too, counted under `/metrics` once answered."""

    def __init__(self, server: Server, headers: dict[str, str]) -> None:
        self.server = server
        self.headers = headers
        self.answered = 0
        self.last_text = ""

    def __call__(self) -> tuple[Samples, int]:
        """The samples, and how many scrapes were answered before this one."""
        answer = httpx.get(f"{self.server.base}/metrics", headers=self.headers, timeout=30)
        assert answer.status_code == 200, answer.text
        earlier, self.answered = self.answered, self.answered + 1
        self.last_text = answer.text
        return parse(answer.text)[0], earlier


def spread(server: Server, answered: Counter[int], workers: list[int]) -> int:
    """GET /healthz on new connections until at least REQUESTS were made and each of `workers` answered one; how many."""

    def both() -> bool:
        # Every answer must come back: a request lost on the way would still be counted by the worker.
        health = httpx.get(f"{server.base}/healthz", timeout=30)
        assert health.status_code == 200, health.text
        answered[health.json()["pid"]] += 1
        return sum(answered.values()) >= REQUESTS and set(workers) <= set(answered)

    wait_for(both, f"requests answered by each of the workers {workers}", 120, every=0)
    return sum(answered.values())


def test_metrics_add_up_across_serve_workers_and_one_leads_each_job(fresh_database_url: str, tmp_path: Path) -> None:
    env = cluster_env(fresh_database_url)
    assert run(["db", "upgrade"], env).returncode == 0
    made = run(["token", "create", "--role", "ops", "--name", "prometheus"], env)
    assert made.returncode == 0, made.stderr
    headers = {"Authorization": f"Bearer {made.stdout.strip()}"}
    if is_sqlite(fresh_database_url):  # one process, by rule (--workers needs PostgreSQL)
        _one_process_keeps_its_metrics_in_memory(env, headers, tmp_path)
        return
    db = make_engine(fresh_database_url)
    supervisor = start(env, tmp_path / "workers.log", "--workers", "2")
    try:
        wait_for(lambda: one_lock_each(db, supervisor, 2), "2 workers, one lock holder per job", START_DEADLINE_S)
        workers = worker_pids(supervisor.pid)
        directory = Path(_environment(workers[0])[ENV])  # the supervisor's private directory, inherited
        assert directory.is_dir() and all(_environment(pid).get(ENV) == str(directory) for pid in workers)
        answered: Counter[int] = Counter()
        requests = spread(supervisor, answered, workers)  # each worker's own count is short of it
        scrape = Scraper(supervisor, headers)
        one_each = {job: 1.0 for job in JOBS}

        def exact(samples: Samples, earlier: int) -> bool:
            """Every request made so far counted, and each job led by one worker."""
            return (value(samples, "fulfil_http_requests_total", **HEALTHZ) == requests
                    and value(samples, "fulfil_http_requests_total", **SCRAPED) == earlier and leads(samples) == one_each)

        # A worker counts a request just after answering it: the last ones land within moments.
        wait_for(lambda: exact(*scrape()), f"a scrape counting all {requests} requests, one leader per job", 30)
        for _ in range(SCRAPES):  # whichever worker answers
            samples, earlier = scrape()
            assert value(samples, "fulfil_http_requests_total", **HEALTHZ) == requests, samples
            assert value(samples, "fulfil_http_request_duration_seconds_count", method="GET", route="/healthz") == requests
            assert value(samples, "fulfil_http_request_duration_seconds_bucket", method="GET", route="/healthz", le="+Inf") == requests
            assert value(samples, "fulfil_http_requests_total", **SCRAPED) <= earlier  # never more than were answered
            assert leads(samples) == one_each, samples
        _same_names_and_types_as_one_process(scrape.last_text, db)

        # The leader of the hold sweep is killed: the supervisor starts another worker; its leads go to the other.
        wait_for(lambda: exact(*scrape()), "every scrape counted before the kill", 30)
        killed = one_lock_each(db, supervisor, 2)["hold-sweep"]  # type: ignore[index]
        os.kill(killed, signal.SIGKILL)

        def replaced() -> bool:
            now = one_lock_each(db, supervisor, 2)
            return bool(now) and killed not in worker_pids(supervisor.pid) and killed not in now.values() and exact(*scrape())  # type: ignore[union-attr]

        wait_for(replaced, "a new worker, the killed one's leads taken over, counts kept, one leader per job", TAKEOVER_DEADLINE_S)
        assert not (directory / f"gauge_livesum_{killed}.db").exists()  # its leads left the sum (mark_process_dead)
        assert (directory / f"counter_{killed}.db").exists()  # its counts stay in it
        requests = spread(supervisor, answered, worker_pids(supervisor.pid))  # the new worker's counts join the dead one's
        wait_for(lambda: exact(*scrape()), f"a scrape counting all {requests} requests after the replacement", 30)
        for _ in range(SCRAPES):
            samples, earlier = scrape()
            assert value(samples, "fulfil_http_requests_total", **HEALTHZ) == requests, samples
            assert value(samples, "fulfil_http_requests_total", **SCRAPED) <= earlier
            assert leads(samples) == one_each, samples

        supervisor.proc.terminate()
        assert supervisor.proc.wait(timeout=90) == 0, supervisor.output()
        assert worker_pids(supervisor.pid) == [] and not directory.exists()  # the private directory goes with it
    finally:
        if supervisor.alive():  # a failure: a graceful stop still, so the supervisor removes its directory
            supervisor.proc.terminate()
            try:
                supervisor.proc.wait(timeout=STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                supervisor.proc.kill()
                supervisor.proc.wait()
        db.dispose()


def _environment(pid: int) -> dict[str, str]:
    """A live process's environment, as the kernel holds it."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(entry.split("=", 1) for entry in raw.decode(errors="replace").split("\0") if "=" in entry)


def _same_names_and_types_as_one_process(text: str, db: Engine) -> None:
    """Every family the workers expose is named and typed as a single process exposes it (dashboards do not change)."""
    single = parse(generate_latest(REGISTRY).decode())[1]
    service = ServiceCollector(make_session_factory(db), None, lambda: {"hold-sweep": "leader"})
    single.update({family.name: family.type for family in service.collect()})
    samples, shared = parse(text)
    assert shared.items() <= single.items(), {name: (kind, single.get(name)) for name, kind in shared.items() if single.get(name) != kind}
    assert {"fulfil_http_requests", "fulfil_http_request_duration_seconds", "fulfil_job_leader", "fulfil_database_up"} <= shared.keys()
    assert not [labels for _name, labels in samples if "pid" in dict(labels)]  # summed over the workers, never per pid


def _one_process_keeps_its_metrics_in_memory(env: dict[str, str], headers: dict[str, str], tmp_path: Path) -> None:
    shared = tmp_path / "operator-metrics"
    shared.mkdir()
    with serving({**env, ENV: str(shared)}) as (base, _proc):
        for _ in range(3):
            assert httpx.get(f"{base}/healthz", timeout=30).status_code == 200
        scraped = httpx.get(f"{base}/metrics", headers=headers, timeout=30)
        assert scraped.status_code == 200, scraped.text
        samples, _types = parse(scraped.text)
        assert value(samples, "fulfil_http_requests_total", **HEALTHZ) == 3
        assert value(samples, "fulfil_http_requests_created", **HEALTHZ) > 0  # in memory (files keep no creation time)
        assert list(shared.iterdir()) == []


def test_the_supervisor_makes_a_private_directory_and_removes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    with shared_directory() as path:
        assert os.environ[ENV] == str(path) and path.is_dir() and list(path.iterdir()) == []
        (path / "counter_1.db").write_bytes(b"")
    assert not path.exists() and ENV not in os.environ


def test_the_operators_directory_is_emptied_of_values_and_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    given = tmp_path / "prometheus"
    given.mkdir()
    for name in ("counter_41.db", "gauge_livesum_41.db", "README"):  # an earlier run's values, and the operator's note
        (given / name).write_bytes(b"x")
    monkeypatch.setenv(ENV, str(given))
    with shared_directory() as path:
        assert path == given and sorted(p.name for p in path.iterdir()) == ["README"]
    assert given.is_dir() and os.environ[ENV] == str(given)

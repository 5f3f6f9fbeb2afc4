"""The metrics of `fulfil serve --workers N` added up across its workers (prometheus_client's multiprocess mode).

The supervisor names a directory in `PROMETHEUS_MULTIPROC_DIR` before it spawns the workers: each worker's
prometheus_client, imported after, keeps every value in memory-mapped files there (`counter_<pid>.db`,
`histogram_<pid>.db`, `gauge_livesum_<pid>.db`), and a scrape of any worker reads them all. Counters and histograms
are summed over every worker that ever ran since the supervisor started, dead ones included (a restart never takes a
counter back); `livesum` gauges over the live workers only: the supervisor deletes a dead worker's gauge files
(`mark_dead`). One process (`fulfil serve`, tests) keeps its metrics in memory.

prometheus_client chooses where values live when it is first imported, from the environment: this module imports it
only inside its functions, so `fulfil serve` can settle the environment first.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

ENV = "PROMETHEUS_MULTIPROC_DIR"
_DEPRECATED_ENV = "prometheus_multiproc_dir"  # prometheus_client still reads the old lower-case name


def configured() -> str | None:
    """The directory named in the environment (the workers' shared one), or None."""
    return os.environ.get(ENV) or os.environ.get(_DEPRECATED_ENV) or None


def keep_in_memory() -> None:
    """One process: its metrics stay in memory, whatever the environment says (call before prometheus_client is imported)."""
    for name in (ENV, _DEPRECATED_ENV):
        if os.environ.pop(name, None):
            log.info("one process: its metrics stay in memory (%s is for `fulfil serve --workers N`)", name)


@contextmanager
def shared_directory() -> Iterator[Path]:
    """The directory the workers started inside share their metrics in, named in PROMETHEUS_MULTIPROC_DIR: the
    operator's own (its earlier run's files deleted at the start, the directory kept), or a new private one (removed
    at the end)."""
    given = configured()
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):  # an earlier run's values, as prometheus_client's documentation asks
            stale.unlink(missing_ok=True)
        os.environ[ENV] = str(path)
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix="fulfil-metrics-"))
    os.environ[ENV] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(ENV, None)
        shutil.rmtree(path, ignore_errors=True)


def mark_dead(pid: int | None, path: Path) -> None:
    """A worker ended: its `live*` gauges leave the sums (its counters and histograms stay in them)."""
    from prometheus_client import multiprocess

    if pid is not None:
        multiprocess.mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]

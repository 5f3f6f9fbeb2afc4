"""The parse process: a real child interpreter decoding payload batches for the MQTT ingest worker.

It must decode exactly as the worker would, keep batches in order with several in flight, and never be a
point of failure: a child killed, hung or gone is replaced, its batches decoded in the worker, nothing lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from fulfil.ingest.config import parse_config
from fulfil.ingest.parsing import Job, ParseProcess, parse_jobs
from fulfil.ingest.pipeline import Delivery, IngestPipeline
from simulators.broker import MosquittoBroker
from tests.hardware.conftest import exited, stopped, wait_for_state
from tests.hardware.conftest_mqtt import Publisher
from tests.ingest.conftest import impinj, readers_toml
from tests.ingest.test_ingest_workers import assert_received_once, running_worker, tags, wait_for

EPCS = [f"30340242201D8840000{n:05X}" for n in range(40)]
ROOT = Path(__file__).resolve().parents[2]


def impinj_array(epcs: list[str], antenna: int = 1) -> bytes:
    return b"[" + b",".join(impinj(epc, antenna) for epc in epcs) + b"]"


def zebra_array(epcs: list[str]) -> bytes:
    return json.dumps([{"timestamp": "2026-11-23T10:00:00.123+0000", "type": "SIMPLE",
                        "data": {"idHex": epc.lower(), "antenna": 2, "peakRssi": -51, "reads": 1}} for epc in epcs]).encode()


def jobs(count: int, offset: int = 0) -> list[Job | None]:
    """Lean jobs of every kind the worker hands over, with None (the checked path) and payloads the decoder declines."""
    out: list[Job | None] = []
    for n in range(count):
        epcs = EPCS[(n + offset) % 30:(n + offset) % 30 + 10]
        out += [
            (impinj_array(epcs), "impinj", "r700", False, 1_790_000_000.0 + n),
            (impinj_array(epcs, antenna=2), "impinj", "r700", True, 1_790_000_000.0 + n),
            (zebra_array(epcs), "zebra", "fx9600", False, 1_790_000_000.5 + n),
            None,
            (b"[{\"eventType\": \"antennaDisconnectedEvent\"}]", "impinj", "r700", False, 1.0),  # a reader event: declined
            (b"\x00 not json", "zebra", "fx9600", False, 1.0),
        ]
    return out


@pytest.fixture()
def parser() -> Any:
    process = ParseProcess(restart_pause_s=0.0)  # the default answer timeout: a loaded machine is slow, not hung
    process.start()
    assert process.running, process.last_error
    yield process
    process.stop()


def test_the_child_decodes_exactly_as_the_worker_would(parser: ParseProcess) -> None:
    batch = jobs(5)
    rows = parser.collect(parser.submit(batch))
    assert rows == parse_jobs(batch)
    assert sum(r is not None and len(r) == 10 for r in rows) == 15  # Impinj, Impinj on the reader's clock, Zebra
    assert rows[3] is None and rows[4] is None and rows[5] is None
    assert parser.batches_in_child == 1 and parser.batches_here == 0


def test_batches_come_back_in_order_with_several_in_flight(parser: ParseProcess) -> None:
    batches = [jobs(20, offset=k) for k in range(8)]  # ~1 MB in flight: more than one socket buffer's worth before any read
    pending = [parser.submit(b) for b in batches]
    assert [parser.collect(p) for p in pending] == [parse_jobs(b) for b in batches]
    assert parser.batches_in_child == 8 and parser.failures == 0


def test_a_killed_child_loses_no_batch_and_is_replaced(parser: ParseProcess) -> None:
    first, second = jobs(3), jobs(3, offset=7)
    old_pid = parser.pid
    assert old_pid is not None
    # Stopped before the batch goes out, so it cannot answer first; killed while holding it.
    os.kill(old_pid, signal.SIGSTOP)
    wait_for_state(old_pid, "stopped", stopped)
    pending = parser.submit(first)
    assert pending.generation is not None  # handed to the child, not decoded here at once
    os.kill(old_pid, signal.SIGKILL)
    wait_for_state(old_pid, "dead", exited)
    assert parser.collect(pending) == parse_jobs(first)  # decoded in the worker instead
    assert parser.failures == 1 and parser.batches_here == 1 and not parser.running
    assert "receiving a batch" in (parser.last_error or "")
    assert parser.collect(parser.submit(second)) == parse_jobs(second)  # the pause is 0: a new child took it
    assert parser.running and parser.pid != old_pid and parser.batches_in_child == 1


def test_a_hung_child_is_killed_and_its_batch_decoded_here(parser: ParseProcess) -> None:
    hung = parser._proc
    assert hung is not None
    os.kill(hung.pid, signal.SIGSTOP)
    wait_for_state(hung.pid, "stopped", stopped)  # else it could still answer
    parser.parse_timeout_s = 0.5  # it will never answer: no need to wait long to say so
    batch = jobs(2)
    assert parser.collect(parser.submit(batch)) == parse_jobs(batch)
    assert parser.failures == 1 and "no answer" in (parser.last_error or "")
    assert hung.poll() is not None  # killed and reaped, not left stopped


def test_without_a_child_the_worker_decodes_by_itself() -> None:
    parser = ParseProcess()  # never started, as when `parse_process = false`
    batch = jobs(2)
    assert parser.collect(parser.submit(batch)) == parse_jobs(batch)
    assert parser.pid is None and parser.batches_here == 1 and parser.batches_in_child == 0


def test_stop_reaps_the_child(parser: ParseProcess) -> None:
    child = parser._proc
    assert child is not None
    parser.stop()
    assert child.poll() == 0  # it read EOF and exited by itself
    assert not parser.running


def test_the_child_exits_when_the_service_dies_without_stopping_it(tmp_path: Path) -> None:
    script = tmp_path / "service.py"
    script.write_text(textwrap.dedent("""
        import os, sys
        from fulfil.ingest.parsing import ParseProcess
        parser = ParseProcess()
        parser.start()
        print(parser.pid, flush=True)
        os._exit(0)  # no stop(), no cleanup: as if killed
    """))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60, check=True)
    wait_for_state(int(out.stdout.strip()), "gone with its service", exited)


def test_a_worker_whose_parse_process_is_killed_mid_stream_still_moves_stock_exactly_once(
    broker: MosquittoBroker, site: dict[str, Any]
) -> None:
    topic = f"readers/{uuid.uuid4().hex[:8]}/events"
    pipeline, worker = running_worker(broker, site, topic, f"ing-{uuid.uuid4().hex[:6]}")
    worker.parser.restart_pause_s = 0.0
    publisher = Publisher(broker)
    epcs = tags(site, 7000, 60)
    try:
        publisher.send(topic, [impinj_array(epcs[:30])] * 3)  # every tag read three times
        publisher.flush()
        wait_for(lambda: pipeline.counters.reads >= 90, "the first reads")
        assert worker.parser.batches_in_child >= 1
        first_child = worker.parser.pid
        assert first_child is not None
        os.kill(first_child, signal.SIGKILL)
        wait_for_state(first_child, "dead", exited)  # what comes next meets a dead child
        publisher.send(topic, [impinj_array(epcs[30:])] * 3 + [impinj_array(epcs[:30])])
        publisher.flush()
        wait_for(lambda: pipeline.counters.reads >= 210, "the reads after the kill")
        wait_for(lambda: worker.subscriber.counters.acked >= 7, "every message acked")
    finally:
        publisher.close()
        worker.stop()
    assert worker.parser.failures == 1 and worker.parser.batches_here >= 1
    assert_received_once(site, epcs)


def test_a_payload_that_breaks_smoothing_is_rejected_and_the_next_one_is_fed(site: dict[str, Any]) -> None:
    """The parsers refuse impossible values, so a smoothing failure would be a bug: it must cost its payload, not the worker."""
    config = parse_config(readers_toml(site["store"], "t/x", "c-x"))
    pipeline = IngestPipeline(config, site["factory"])
    reader = config.readers[0].id
    good, bad = site["epcs"][0], site["epcs"][1]
    deliveries = [Delivery(b"bad", reader), Delivery(b"good", reader)]
    now = time.time()
    # 10 ** (10,000 dBm / 10) overflows a float: smoothing raises on the first row
    assert pipeline.feed_parsed(deliveries, [[(reader, 1, bad, 10_000.0, now, 1)], [(reader, 1, good, -45.0, now, 1)]]) == 2
    assert pipeline.counters.rejected == 1 and "smoothing failed: OverflowError" in (pipeline.counters.last_rejection or "")
    assert [e.epc for e in pipeline.commit() if e.outcome.value == "received"] == [good]

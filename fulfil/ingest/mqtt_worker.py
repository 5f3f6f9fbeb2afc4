"""The MQTT side of ingest: a persistent-session subscriber whose messages are acknowledged only after their effects commit."""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass

from fulfil.ingest.config import IngestConfig
from fulfil.ingest.parsing import ParseProcess, Pending
from fulfil.ingest.pipeline import Delivery, IngestPipeline
from hardware.mqtt import MqttConfig, MqttSubscriber, ReceivedMessage

log = logging.getLogger(__name__)

# Messages taken per transaction, and how long the loop waits for the first one.
BATCH_SIZE = 500
POLL_SECONDS = 0.2
# Batches taken and handed to the parse process while a step is smoothed and committed (the next step takes them all).
READ_AHEAD = 2
# After a failed commit (database down), wait this long before trying again; nothing is acked meanwhile.
RETRY_SECONDS = 1.0


class MqttIngestWorker:
    """Reads reader topics, feeds the pipeline, commits, then acks: a crash before the commit means redelivery."""

    def __init__(self, pipeline: IngestPipeline, mqtt_url: str, config: IngestConfig, *, client_id: str | None = None) -> None:
        self.pipeline = pipeline
        self.readers = {r.topic: r for r in config.readers if r.transport == "mqtt" and r.topic}
        self.status = {r.status_topic: r for r in config.readers if r.transport == "mqtt" and r.status_topic}
        topics = sorted(set(self.readers) | set(self.status))
        mqtt_config = MqttConfig.from_url(mqtt_url, client_id=client_id or config.client_id)
        self.subscriber = MqttSubscriber(mqtt_config, topics, share_group=config.share_group)
        self.parser = ParseProcess()
        self.use_parse_process = config.parse_process
        self.unknown_topics = 0
        self._unacked: list[ReceivedMessage] = []  # messages whose effects are not committed yet
        self._ahead: deque[_Batch] = deque()  # taken and handed to the parser, not smoothed yet (in order)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ingest-mqtt", daemon=True)

    def start(self) -> None:
        """Start the parse process (if configured), connect and start consuming."""
        if self.use_parse_process:
            self.parser.start()
        self.subscriber.start()
        self._thread.start()

    def stop(self) -> None:
        """Finish the current batch, disconnect (un-acked messages stay with the broker), join."""
        self._stop.set()
        self._thread.join(timeout=30)
        self.subscriber.stop()
        self.parser.stop()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # the database may be down: keep the messages un-acked and try again
                self._stop.wait(RETRY_SECONDS)

    def step(self) -> int:
        """Smooth, commit and ack one batch of messages; the number of messages handled.

        Everything that has arrived goes into this step's one commit: the batches read ahead (handed to the parse
        process while the step before was smoothed and committed) and whatever is queued now (waiting for a first
        message only when there is nothing at all). Taking one read-ahead batch per step would keep a standing queue
        of small batches, each waiting for the commits of those before it: at 100 messages/s and 30 ms commits on a
        busy machine that held a read for 200 ms or more. Pipelined with the parse process: whatever arrives while
        this step is smoothed is taken and handed to the parser before its rows are awaited and again before the
        commit, so the next step's batches are decoded on another core meanwhile. Without a parse process the same
        code decodes here, at collect time."""
        batches = list(self._ahead)
        self._ahead.clear()
        now = self.subscriber.get_batch(BATCH_SIZE, timeout=0 if batches else POLL_SECONDS)
        if now:
            batches.append(self._take(now))
        self._read_ahead()
        for batch in batches:
            self.pipeline.feed_parsed(batch.deliveries, self.parser.collect(batch.pending))
            self._unacked.extend(batch.messages)
        self._read_ahead()
        self.pipeline.commit()
        self.subscriber.ack_all(self._unacked)
        self._unacked.clear()
        return sum(len(batch.messages) for batch in batches)

    def _read_ahead(self) -> None:
        """Take what is queued now (without waiting) for the parser, up to READ_AHEAD batches."""
        if len(self._ahead) < READ_AHEAD:
            more = self.subscriber.get_batch(BATCH_SIZE, timeout=0)
            if more:
                self._ahead.append(self._take(more))

    def _take(self, messages: list[ReceivedMessage]) -> _Batch:
        """Deliveries of the messages, their lean jobs handed to the parser."""
        deliveries: list[Delivery] = []
        for message in messages:
            reader = self.readers.get(message.topic)
            if reader is not None:
                deliveries.append(Delivery(message.payload, reader.id, reader.format, message.received_at))
                continue
            status = self.status.get(message.topic)
            if status is not None:
                deliveries.append(Delivery(message.payload, status.id, "auto", message.received_at, status=True))
            else:
                self.unknown_topics += 1
        return _Batch(messages, deliveries, self.parser.submit(self.pipeline.jobs(deliveries)))


@dataclass(slots=True)
class _Batch:
    messages: list[ReceivedMessage]
    deliveries: list[Delivery]
    pending: Pending  # per delivery, its lean job (or None: the checked path), in the parser

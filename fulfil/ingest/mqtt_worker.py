"""The MQTT side of ingest: a persistent-session subscriber whose messages are acknowledged only after their effects commit."""

from __future__ import annotations

import logging
import threading

from fulfil.ingest.config import IngestConfig
from fulfil.ingest.pipeline import Delivery, IngestPipeline
from hardware.mqtt import MqttConfig, MqttSubscriber, ReceivedMessage

log = logging.getLogger(__name__)

# Messages taken per transaction, and how long the loop waits for the first one.
BATCH_SIZE = 500
POLL_SECONDS = 0.2
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
        self.unknown_topics = 0
        self._unacked: list[ReceivedMessage] = []  # messages whose effects are not committed yet
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ingest-mqtt", daemon=True)

    def start(self) -> None:
        """Connect and start consuming."""
        self.subscriber.start()
        self._thread.start()

    def stop(self) -> None:
        """Finish the current batch, disconnect (un-acked messages stay with the broker), join."""
        self._stop.set()
        self._thread.join(timeout=30)
        self.subscriber.stop()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # the database may be down: keep the messages un-acked and try again
                self._stop.wait(RETRY_SECONDS)

    def step(self) -> int:
        """Take one batch of messages, apply their effects, ack them; the number of messages handled."""
        messages = self.subscriber.get_batch(BATCH_SIZE, timeout=POLL_SECONDS)
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
        self.pipeline.feed_payloads(deliveries)
        self._unacked.extend(messages)
        self.pipeline.commit()
        self.subscriber.ack_all(self._unacked)
        self._unacked.clear()
        return len(messages)

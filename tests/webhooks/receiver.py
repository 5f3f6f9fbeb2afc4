"""A real webhook receiver for the tests: a threaded HTTP server on a free loopback port that verifies every request
with the `standardwebhooks` package (an implementation independent of fulfil.webhooks.signing), records what came,
and misbehaves when told to: slow, any status (500, 410, 429 with Retry-After, a redirect), hanging past the
client's timeout, holding a request until released, closing the connection without an answer."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Received:
    """One request as it came: headers, exact body, whether the signature verified (and with which secret)."""

    path: str
    webhook_id: str
    timestamp: str
    signature: str
    body: bytes
    verified: bool
    verified_with: str | None
    at: float  # time.monotonic()

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass(frozen=True)
class Answer:
    """What to do with a request: a status (with headers), after `delay` seconds; `hold` until released; `close`
    the connection without answering."""

    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    hold: bool = False
    close: bool = False


OK = Answer()
Plan = Callable[[Received], Answer]


class Receiver:
    """Start with `with Receiver() as r:`; `r.url(path)` to register; `r.secrets` to verify with; `r.plan` decides
    each answer (all 200 by default)."""

    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.plan: Plan = lambda _request: OK
        self.received: list[Received] = []
        self.holding = threading.Event()  # set when a request is being held
        self.release = threading.Event()  # set to let held requests answer
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._in_flight: Counter[str] = Counter()
        self.max_concurrent: Counter[str] = Counter()  # per webhook-id: most requests of it at the same time
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def verify(self, body: bytes, headers: dict[str, str]) -> str | None:
        """The secret that verifies the request (standardwebhooks: signature and timestamp tolerance), or None."""
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
                return secret
            except WebhookVerificationError:
                continue
        return None

    def ids(self, path: str | None = None) -> list[str]:
        """webhook-ids received (on a path), in arrival order, repeats included."""
        with self._lock:
            return [r.webhook_id for r in self.received if path is None or r.path == path]

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 20.0) -> list[Received]:
        """Wait (with a deadline) until what was received satisfies `predicate`; what was received."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not predicate(list(self.received)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"receiver: condition not met in {timeout} s; received {[r.webhook_id for r in self.received]}")
                self._arrived.wait(left)
            return list(self.received)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 65_536  # the answer leaves in one write (flushed after each request), not headers then body

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                secret = receiver.verify(body, headers)
                request = Received(
                    self.path, headers.get("webhook-id", ""), headers.get("webhook-timestamp", ""), headers.get("webhook-signature", ""),
                    body, secret is not None, secret, time.monotonic(),
                )
                with receiver._arrived:
                    receiver.received.append(request)
                    receiver._in_flight[request.webhook_id] += 1
                    receiver.max_concurrent[request.webhook_id] = max(receiver.max_concurrent[request.webhook_id],
                                                                      receiver._in_flight[request.webhook_id])
                    receiver._arrived.notify_all()
                try:
                    self._answer(request, receiver.plan(request) if secret is not None else Answer(status=400))
                finally:
                    with receiver._lock:
                        receiver._in_flight[request.webhook_id] -= 1

            def _answer(self, request: Received, answer: Answer) -> None:
                if answer.hold:
                    receiver.holding.set()
                    receiver.release.wait(60)
                if answer.delay:
                    time.sleep(answer.delay)  # the misbehaviour under test: a slow or hanging endpoint
                if answer.close:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                text = json.dumps({"received": request.webhook_id}).encode()
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                except OSError:
                    self.close_connection = True  # the client went away (it timed out, or was killed)

        return Handler


def free_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def receiving() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver

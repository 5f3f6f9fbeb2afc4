"""A webhook receiver for the benchmark, run as its own process (so it never competes for the dispatcher's GIL):
`python -m benchmarks.webhook_receiver SECRET`. It prints its port, then answers every POST 200 after verifying the
signature with the standard library (the recipe of docs/webhooks.md, independent of fulfil.webhooks.signing), and
records when each webhook-id first arrived (time.time()). `GET /stats` answers what it saw as JSON; `POST /reset`
forgets it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verify(key: bytes, body: bytes, headers: dict[str, str]) -> bool:
    msg_id, timestamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "0")
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()).decode()
    signatures = headers.get("webhook-signature", "").split(" ")
    return abs(time.time() - int(timestamp)) <= 300 and any(hmac.compare_digest(expected, s.split(",", 1)[-1]) for s in signatures)


def main(secret: str) -> None:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    lock = threading.Lock()
    state: dict[str, Any] = {"arrivals": {}, "requests": 0, "bad": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 65_536

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _reply(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            now = time.time()
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if self.path == "/reset":
                with lock:
                    state.update(arrivals={}, requests=0, bad=0)
                self._reply(b"{}")
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            ok = verify(key, body, headers)
            with lock:
                state["requests"] += 1
                state["bad"] += 0 if ok else 1
                state["arrivals"].setdefault(headers.get("webhook-id", ""), now)
            self._reply(b'{"ok":true}')

        def do_GET(self) -> None:
            with lock:
                body = json.dumps(state).encode()
            self._reply(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])

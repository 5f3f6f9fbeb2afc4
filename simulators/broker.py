"""A private Mosquitto broker: own loopback port, own config and persistence directory, start/stop/kill/restart."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"
# Debian installs the broker in /usr/sbin, which is not on every user's PATH.
SEARCH_DIRS = ("/usr/sbin", "/usr/local/sbin", "/opt/homebrew/sbin", "/usr/local/opt/mosquitto/sbin")
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.02
# Per-client backlog the broker keeps for an offline persistent session; Mosquitto's default of
# 1000 would silently drop reads of a reader that streams through a service restart.
MAX_QUEUED_MESSAGES = 1_000_000
PERSISTENCE_FILE = "mosquitto.db"


class BrokerError(RuntimeError):
    """Mosquitto is missing, would not start, or died."""


@dataclass(frozen=True, slots=True)
class BrokerTls:
    """Server certificate for a TLS listener (and the CA to verify client certificates with, if any)."""

    cert_file: Path
    key_file: Path
    ca_file: Path | None = None
    require_client_certificate: bool = False


def find_mosquitto(name: str = "mosquitto") -> str:
    """The path of a Mosquitto executable (`mosquitto`, `mosquitto_passwd`), or BrokerError."""
    found = shutil.which(name)
    if found:
        return found
    for directory in SEARCH_DIRS:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise BrokerError(f"{name} is not installed (looked on PATH and in {', '.join(SEARCH_DIRS)}); e.g. apt install mosquitto")


def free_port() -> int:
    """A TCP port on the loopback interface nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


class MosquittoBroker:
    """One `mosquitto` process on 127.0.0.1:<port> with persistence in its own directory."""

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        port: int | None = None,
        users: Mapping[str, str] | None = None,
        tls: BrokerTls | None = None,
        autosave_every_change: bool = False,
        max_queued_messages: int = MAX_QUEUED_MESSAGES,
        executable: str | None = None,
    ) -> None:
        self.executable = executable or find_mosquitto()
        self._own_dir = data_dir is None
        self.data_dir = Path(tempfile.mkdtemp(prefix="fulfil-mosquitto-")) if data_dir is None else data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.users = dict(users or {})
        self.tls = tls
        self.autosave_every_change = autosave_every_change
        self.max_queued_messages = max_queued_messages
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        """The loopback address the broker listens on."""
        return HOST

    @property
    def url(self) -> str:
        """`mqtt://host:port` (or `mqtts://`), without credentials."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{HOST}:{self.port}"

    @property
    def config_file(self) -> Path:
        """The generated mosquitto.conf."""
        return self.data_dir / "mosquitto.conf"

    @property
    def log_file(self) -> Path:
        """Where the broker logs."""
        return self.data_dir / "mosquitto.log"

    @property
    def persistence_file(self) -> Path:
        """The broker's saved sessions and queued messages."""
        return self.data_dir / PERSISTENCE_FILE

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id while running."""
        return self._process.pid if self.running and self._process is not None else None

    def start(self) -> MosquittoBroker:
        """Write the config, start the process and wait until it accepts connections."""
        if self.running:
            return self
        self._write_config()
        with open(self.log_file, "ab") as log:
            # A session of its own: Ctrl-C in the terminal reaches the service, which then stops the broker
            # after its last commit and acks, instead of the broker vanishing under it first.
            self._process = subprocess.Popen(
                [self.executable, "-c", str(self.config_file)], stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        self._wait_listening()
        return self

    def stop(self) -> None:
        """SIGTERM and wait, so Mosquitto writes its persistence file; SIGKILL if it hangs."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """SIGKILL: a crash; only what the last autosave wrote survives."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def restart(self, *, graceful: bool = True) -> MosquittoBroker:
        """Stop (or kill) and start again on the same port and data directory."""
        if graceful:
            self.stop()
        else:
            self.kill()
        return self.start()

    def close(self) -> None:
        """Stop the broker and remove the data directory if this object created it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the broker log, for error messages."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _write_config(self) -> None:
        lines = [
            f"listener {self.port} {HOST}",
            f"allow_anonymous {'false' if self.users else 'true'}",
            "persistence true",
            f"persistence_location {self.data_dir}/",  # Mosquitto wants the trailing slash
            f"persistence_file {PERSISTENCE_FILE}",
            f"max_queued_messages {self.max_queued_messages}",
            # Without this, a persistent subscriber's QoS 1 backlog is bounded only by count, not bytes.
            "max_queued_bytes 0",
            f"log_dest file {self.log_file}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        ]
        if self.autosave_every_change:
            # Save after every queued message or subscription change, so a SIGKILL loses at most
            # what arrived within the broker's last loop iteration.
            lines += ["autosave_on_changes true", "autosave_interval 1"]
        if os.geteuid() == 0:
            # As root, Mosquitto switches to user "mosquitto", who cannot write our temp directory.
            lines.append(f"user {pwd.getpwuid(os.geteuid()).pw_name}")
        if self.users:
            self._write_password_file()
            lines.append(f"password_file {self.data_dir / 'passwd'}")
        if self.tls is not None:
            lines += [f"certfile {self.tls.cert_file}", f"keyfile {self.tls.key_file}"]
            if self.tls.ca_file is not None:
                lines.append(f"cafile {self.tls.ca_file}")
            if self.tls.require_client_certificate:
                lines.append("require_certificate true")
        self.config_file.write_text("\n".join(lines) + "\n")

    def _write_password_file(self) -> None:
        # mosquitto_passwd writes the hash format this broker version expects; we do not reimplement it.
        tool = find_mosquitto("mosquitto_passwd")
        path = self.data_dir / "passwd"
        path.unlink(missing_ok=True)
        for index, (user, password) in enumerate(self.users.items()):
            args = [tool, "-b", *(["-c"] if index == 0 else []), str(path), user, password]
            done = subprocess.run(args, capture_output=True, check=False)
            if done.returncode != 0:
                raise BrokerError(f"mosquitto_passwd failed: {done.stderr.decode(errors='replace').strip()}")
        path.chmod(0o600)

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise BrokerError(f"mosquitto exited during start-up on port {self.port}:\n{self.log_tail()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=POLL_S * 10):
                    return
            except OSError:
                time.sleep(POLL_S)  # polling a port that is not open yet; the loop has a deadline
        self.kill()
        raise BrokerError(f"mosquitto did not listen on {HOST}:{self.port} within {START_TIMEOUT_S} s:\n{self.log_tail()}")

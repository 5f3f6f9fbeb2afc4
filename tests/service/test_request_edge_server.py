"""The request edge on a real server: a huge body is refused before it is read, so the server's memory stays flat."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.test_cli import seeded_token, serving

DECLARED = 45 * 1024 * 1024  # the reproducer: 45 MB


@pytest.fixture()
def served(fresh_database_url: str) -> Iterator[tuple[str, int, str]]:
    env = {**os.environ, "FULFIL_DATABASE_URL": fresh_database_url, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    token = seeded_token(env)
    with serving(env) as (base, proc):
        host, port = base.removeprefix("http://").split(":")
        yield host, int(port), token
        assert proc.poll() is None  # still serving after everything


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def server_pid(port: int) -> int:
    """The pid of the process listening on the port (the `fulfil serve` child of the test)."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":  # LISTEN
                inode = fields[9]
    assert inode is not None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]" for fd in os.listdir(f"/proc/{pid}/fd")):
                return int(pid)
        except OSError:
            continue
    raise AssertionError("listener not found")


def answer(sock: socket.socket) -> tuple[int, bytes]:
    """Status and the raw response (head and body), read until its Content-Length is in or the server closes."""
    data = b""
    sock.settimeout(30)
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            lengths = [int(line.split(b":")[1]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
            if lengths and len(body) >= lengths[0]:
                break
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1]), data


def post_head(host: str, port: int, headers: str) -> socket.socket:
    sock = socket.create_connection((host, port))
    sock.sendall(f"POST /api/v1/locations HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{headers}\r\n".encode())
    return sock


def test_a_45mb_body_without_a_token_is_refused_before_a_byte_of_it_is_sent(served: tuple[str, int, str]) -> None:
    host, port, _ = served
    with post_head(host, port, f"Content-Length: {DECLARED}\r\n") as sock:
        status, head = answer(sock)  # nothing of the body was sent: the answer cannot have waited for it
    assert status == 413 and b"too_large" in head
    with post_head(host, port, "Transfer-Encoding: chunked\r\n") as sock:
        status, head = answer(sock)
    assert status == 401 and b"www-authenticate: bearer" in head.lower()


def test_streamed_bodies_over_the_cap_leave_the_servers_memory_flat(served: tuple[str, int, str]) -> None:
    host, port, token = served
    pid = server_pid(port)
    before = rss_kib(pid)
    chunk = b"x" * 1_048_576
    statuses = []
    for _ in range(4):  # four 45 MB bodies, chunked (no Content-Length to refuse them by), with a valid token
        with post_head(host, port, f"Authorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n") as sock:
            sent = 0
            try:
                sock.sendall(b'a\r\n{"name": "\r\n')
                while sent < DECLARED:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
                sock.sendall(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server stopped reading at the cap and closed: that is the point
            statuses.append(answer(sock)[0])
    assert statuses == [413] * 4
    grown_mib = (rss_kib(pid) - before) / 1024
    assert grown_mib < 40, f"server memory grew by {grown_mib:.0f} MiB"
    with socket.create_connection((host, port)) as sock:  # and it still answers
        sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert answer(sock)[0] == 200

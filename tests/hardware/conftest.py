"""Fixtures for the hardware tests: short driver timings, waiting on a condition or a process state, an emulated tag field."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hardware.serial import driver as driver_module
from simulators.serial import Tag
from tests import waiting

TAGS = [
    Tag("3074257BF7194E4000001A85", antenna=1, rssi_dbm=-55),
    Tag("E2801190A5021F80055817CA", antenna=2, rssi_dbm=-61),
    Tag("3034257BF7194E40000003E9", antenna=1, rssi_dbm=-70),
]

Waiter = Callable[..., None]


def wait_until(condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll `condition` every 5 ms until true; fail the test after `timeout` seconds."""
    waiting.wait_for(condition, what, timeout, every=0.005)


def process_state(pid: int) -> str | None:
    """The process state letter from /proc (R, S, T, Z ...), or None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def stopped(state: str | None) -> bool:
    """Stopped by a signal: it runs no more code until continued."""
    return state == "T"


def exited(state: str | None) -> bool:
    """Gone, or a zombie waiting to be reaped (its sockets are closed)."""
    return state in (None, "Z")


def wait_for_state(pid: int, what: str, reached: Callable[[str | None], bool], timeout: float = 10.0) -> None:
    """Wait until process `pid` is in a state `reached` accepts (a signal lands when the kernel gets to it)."""
    deadline = time.monotonic() + timeout
    while not reached(state := process_state(pid)):
        if time.monotonic() > deadline:
            pytest.fail(f"process {pid} not {what} after {timeout} s (state {state})")
        time.sleep(0.01)


@pytest.fixture
def fast_timings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Driver backoff and silence timings short enough for tests."""
    monkeypatch.setattr(driver_module, "RECONNECT_INITIAL_S", 0.02)
    monkeypatch.setattr(driver_module, "RECONNECT_MAX_S", 0.2)
    monkeypatch.setattr(driver_module, "SILENCE_RESTART_S", 0.3)
    monkeypatch.setattr(driver_module, "SILENCE_OFFLINE_S", 1.0)
    monkeypatch.setattr(driver_module, "FRAME_GAP_S", 0.1)

"""Waiting on a condition with a deadline, the one way tests wait for what happens in another thread or process
(no blind sleeps): poll, return what the condition returned once it is truthy, fail naming what was awaited."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

DEADLINE_S = 20.0


def wait_for(check: Callable[[], T], what: str, deadline_s: float = DEADLINE_S, *, every: float = 0.05) -> T:
    """Poll `check` every `every` seconds until it returns something truthy (returned), or fail after `deadline_s`."""
    deadline = time.monotonic() + deadline_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {deadline_s} s: {what}")
        time.sleep(every)  # polling a condition with a deadline

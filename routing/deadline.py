"""A hard wall-clock limit around a call that may overrun its own time limit (solver presolve)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

# After asking a solver to stop, wait this long for it to return what it has.
STOP_GRACE = 0.1


class Outcome(Generic[T]):
    """What a guarded call produced: a value, an exception, or nothing in time."""

    def __init__(self) -> None:
        self.value: T | None = None
        self.error: BaseException | None = None
        self.finished = False
        # Set when the call returns, even after the caller gave up on it (to wait for an abandoned solve).
        self.done = threading.Event()


def run_until(call: Callable[[], T], deadline: float, on_timeout: Callable[[], None] | None = None) -> Outcome[T]:
    """Run `call` in a daemon thread; give up at `deadline` (perf_counter), calling `on_timeout` to stop it.

    The OR-Tools solvers release the GIL while solving, so the caller really regains control at
    the deadline; an abandoned solve finishes (or is stopped) in the background.
    """
    outcome: Outcome[T] = Outcome()

    def target() -> None:
        try:
            outcome.value = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            outcome.error = exc
        outcome.finished = True
        outcome.done.set()

    thread = threading.Thread(target=target, name="routing-solve", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.perf_counter()))
    if thread.is_alive() and on_timeout is not None:
        on_timeout()
        thread.join(STOP_GRACE)
    if outcome.error is not None:
        raise outcome.error
    return outcome

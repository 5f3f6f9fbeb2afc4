"""The wall clock as an outer guard: work is bounded by deterministic budgets, the clock only stops it, and says so."""

from __future__ import annotations

import time


class Guard:
    """A deadline (perf_counter) asked between steps; once past, it stays fired and remembers the first stage."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired_in: str | None = None

    @classmethod
    def after(cls, seconds: float) -> Guard:
        """A guard firing `seconds` from now."""
        return cls(time.perf_counter() + seconds)

    def left(self) -> float:
        """Seconds until the deadline (negative once past)."""
        return self.deadline - time.perf_counter()

    def expired(self, stage: str) -> bool:
        """Whether the deadline has passed; the first time it is seen, `stage` is recorded."""
        if self.fired_in is None and time.perf_counter() > self.deadline:
            self.fired_in = stage
        return self.fired_in is not None

    def fire(self, stage: str) -> None:
        """Record that a solver stopped on the guard's time in `stage`."""
        if self.fired_in is None:
            self.fired_in = stage

    @property
    def fired(self) -> bool:
        """Whether the guard stopped any work."""
        return self.fired_in is not None

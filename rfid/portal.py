"""Portal direction: which way a tag went through a doorway watched by an inner and an outer zone.

A single read says nothing about direction; the order of the tag's strongest
read at each side does. A passage is concluded once the tag has been silent at
both sides for the portal's silence time: if it was seen at both sides, the side
with the earlier peak is where it came from.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime

from rfid.facts import Direction, Fact, PortalCrossed
from rfid.zones import PortalConfig

_NEVER = float("-inf")


class _Passage:
    """One tag's reads at a portal since it was last silent there."""

    __slots__ = ("inner_peak", "inner_at", "outer_peak", "outer_at", "last")

    def __init__(self) -> None:
        self.inner_peak = _NEVER
        self.inner_at = _NEVER
        self.outer_peak = _NEVER
        self.outer_at = _NEVER
        self.last = _NEVER


class PortalTracker:
    """Passages through one portal, concluded into PortalCrossed facts by `expire`."""

    __slots__ = ("config", "silence", "passages", "blocked")

    def __init__(self, config: PortalConfig) -> None:
        self.config = config
        self.silence = config.silence_ms / 1000.0
        # Oldest last-read first, so expiry stops at the first passage still live.
        self.passages: OrderedDict[str, _Passage] = OrderedDict()
        # Set while either side's coverage is lost: no passage is concluded then.
        self.blocked = False

    def read(self, epc: str, inner: bool, rssi: float, t: float) -> PortalCrossed | None:
        """Record a read at the inner (or outer) side; returns the tag's previous passage if this read ends it."""
        concluded = None
        passage = self.passages.get(epc)
        if passage is not None and not self.blocked and t - passage.last > self.silence:
            # A new passage of the same tag, and no expire() ran in between: conclude the old one first.
            del self.passages[epc]
            concluded = self._conclude(epc, passage)
            passage = None
        if passage is None:
            passage = self.passages[epc] = _Passage()
        else:
            self.passages.move_to_end(epc)
        # ">" keeps the first of equally strong reads, so a tag parked at one side does not drift.
        if inner:
            if rssi > passage.inner_peak:
                passage.inner_peak, passage.inner_at = rssi, t
        elif rssi > passage.outer_peak:
            passage.outer_peak, passage.outer_at = rssi, t
        if t > passage.last:
            passage.last = t
        return concluded

    def expire(self, now: float, out: list[Fact]) -> None:
        """Conclude every passage silent since `now - silence`, appending PortalCrossed facts to `out`."""
        if self.blocked:
            return
        horizon = now - self.silence
        passages = self.passages
        while passages:
            epc, passage = next(iter(passages.items()))
            if passage.last > horizon:
                break
            del passages[epc]
            fact = self._conclude(epc, passage)
            if fact is not None:
                out.append(fact)

    def refresh(self, t: float) -> None:
        """Treat every open passage as read at `t` (coverage came back): no passage ends inside an outage."""
        for passage in self.passages.values():
            if passage.last < t:
                passage.last = t

    def _conclude(self, epc: str, passage: _Passage) -> PortalCrossed | None:
        """A crossing if the tag was seen at both sides at different moments; None if it only approached."""
        if passage.inner_at == _NEVER or passage.outer_at == _NEVER or passage.inner_at == passage.outer_at:
            return None
        direction = Direction.OUT if passage.inner_at < passage.outer_at else Direction.IN
        return PortalCrossed(
            epc,
            self.config.name,
            direction,
            datetime.fromtimestamp(passage.last + self.silence, UTC),
            datetime.fromtimestamp(passage.inner_at, UTC),
            datetime.fromtimestamp(passage.outer_at, UTC),
        )

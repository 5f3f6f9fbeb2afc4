"""Smoothing raw reads into facts: arrivals, departures, moves between zones, portal crossings, outages.

Driven only by the timestamps it is given (read times and `tick(now)`), never by
the wall clock, so it is deterministic and testable without sleeps.

Per (zone, EPC) a presence counts reads and keeps a time-weighted RSSI score: the
sum of each read's linear power, decayed exponentially with RSSI_TAU_MS, so a
zone that reads a tag often and strongly out-scores one that catches it now and
then. A tag is placed in one zone at a time: it arrives where it first qualifies
(N reads or T ms), moves only when another qualified zone has out-scored its
zone by MOVE_MARGIN_DB for HOLD_OFF_MS, and departs after its zone's silence
time if no other zone holds it. Portal zones are not placement zones: they feed
PortalTracker, which gives direction. A zone with a reader offline or an
antenna down is unknown: no departure and no move out of it is concluded, and
when coverage returns its silence clocks restart.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from operator import attrgetter
from typing import Literal

from rfid.facts import Fact, TagArrived, TagDeparted, TagMoved, ZoneKnown, ZoneUnknown
from rfid.portal import PortalTracker
from rfid.reads import ReaderEvent, ReaderEventKind, TagRead
from rfid.zones import DEFAULT_RSSI_DBM, HOLD_OFF_MS, MOVE_MARGIN_DB, RSSI_TAU_MS, AntennaKey, Layout

TimeSource = Literal["reader", "receipt"]
_exp = math.exp


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _seconds(moment: datetime | float) -> float:
    return moment.timestamp() if isinstance(moment, datetime) else float(moment)


class _Zone:
    __slots__ = ("name", "arrival_reads", "arrival_s", "departure_s", "floor", "presences", "outages", "portal", "inner")

    def __init__(self, name: str, arrival_reads: int, arrival_ms: int, departure_ms: int, floor: float | None) -> None:
        self.name = name
        self.arrival_reads = arrival_reads
        self.arrival_s = arrival_ms / 1000.0
        self.departure_s = departure_ms / 1000.0
        self.floor = floor if floor is not None else -math.inf
        # Presences by EPC, least recently read first (move_to_end on each read), so expiry stops early.
        self.presences: OrderedDict[str, _Presence] = OrderedDict()
        self.outages: set[AntennaKey] = set()  # what is down; non-empty means the zone is unknown
        self.portal: PortalTracker | None = None
        self.inner = False


class _Presence:
    __slots__ = ("tag", "zone", "count", "first", "last", "power", "qualified")

    def __init__(self, tag: _Tag, zone: _Zone, count: int, t: float, power: float) -> None:
        self.tag = tag
        self.zone = zone
        self.count = count
        self.first = t
        self.last = t
        self.power = power  # decayed sum of linear power (mW) as of `last`
        self.qualified = False


class _Tag:
    __slots__ = ("epc", "placed", "presences", "challenger", "challenge_since")

    def __init__(self, epc: str) -> None:
        self.epc = epc
        self.placed: _Presence | None = None
        self.presences: dict[_Zone, _Presence] = {}
        self.challenger: _Presence | None = None
        self.challenge_since = 0.0


class SmoothingEngine:
    """Turns reads and reader events into facts (drain() them); one engine per site layout."""

    def __init__(
        self,
        layout: Layout,
        *,
        hold_off_ms: int = HOLD_OFF_MS,
        rssi_tau_ms: int = RSSI_TAU_MS,
        move_margin_db: float = MOVE_MARGIN_DB,
        default_rssi_dbm: float = DEFAULT_RSSI_DBM,
        time_source: TimeSource = "reader",
    ) -> None:
        self.layout = layout
        self.hold_off_s = hold_off_ms / 1000.0
        self._inv_tau = 1000.0 / rssi_tau_ms
        self._margin = 10.0 ** (move_margin_db / 10.0)
        self._default_rssi = default_rssi_dbm
        self.time_source: TimeSource = time_source
        self._zones = {z.name: _Zone(z.name, z.arrival_reads, z.arrival_ms, z.departure_ms, z.rssi_floor_dbm) for z in layout.zones}
        self._portals: list[tuple[PortalTracker, _Zone, _Zone]] = []
        for config in layout.portals:
            tracker = PortalTracker(config)
            inner, outer = self._zones[config.inner], self._zones[config.outer]
            inner.portal = outer.portal = tracker
            inner.inner = True
            self._portals.append((tracker, inner, outer))
        self._placement_zones = [z for z in self._zones.values() if z.portal is None]
        self._antennas: dict[AntennaKey, _Zone] = {key: self._zones[name] for key, name in layout.antennas.items()}
        self._tags: dict[str, _Tag] = {}
        self._out: list[Fact] = []
        self.unmapped_reads = 0  # reads from an antenna no zone claims
        self.floored_reads = 0  # reads under their zone's RSSI floor

    # -- reads -------------------------------------------------------------------------------

    def observe(self, read: TagRead) -> None:
        """Feed one normalised read, timed by the reader's clock or by receipt (see time_source)."""
        moment = read.seen_at if self.time_source == "reader" and read.seen_at is not None else read.received_at
        self.feed(read.reader, read.antenna, read.epc, read.rssi_dbm, moment.timestamp(), read.count)

    def observe_all(self, reads: Iterable[TagRead]) -> None:
        """Feed many reads in order."""
        for read in reads:
            self.observe(read)

    def feed_rows(self, rows: Iterable[tuple[str | None, int | None, str, float | None, float, int]]) -> None:
        """Feed many `(reader, antenna, epc, rssi_dbm, t, count)` rows in order, as `feed` would one by one."""
        feed = self.feed
        for row in rows:
            feed(*row)

    def feed(self, reader: str | None, antenna: int | None, epc: str, rssi_dbm: float | None, t: float, count: int = 1) -> None:
        """The hot path: one read of `epc` on (reader, antenna) at `t` seconds since the epoch."""
        zone = self._antennas.get((reader, antenna))
        if zone is None:
            zone = self._antennas.get((reader, None))
            if zone is None:
                self.unmapped_reads += 1
                return
        if rssi_dbm is None:
            rssi_dbm = self._default_rssi
        elif rssi_dbm < zone.floor:
            self.floored_reads += 1
            return
        if zone.portal is not None:
            crossed = zone.portal.read(epc, zone.inner, rssi_dbm, t)
            if crossed is not None:
                self._out.append(crossed)
            return
        power = 10.0 ** (rssi_dbm * 0.1) * count
        tag = self._tags.get(epc)
        if tag is None:
            tag = self._tags[epc] = _Tag(epc)
            presence = None
        else:
            presence = tag.presences.get(zone)
            if presence is not None and t - presence.last > zone.departure_s and not zone.outages:
                # Silent past the departure time but no tick came: conclude the departure first.
                del zone.presences[epc]
                self._expire(presence, presence.last + zone.departure_s)
                self._tags[epc] = tag
                presence = None
        if presence is None:
            presence = tag.presences[zone] = zone.presences[epc] = _Presence(tag, zone, count, t, power)
        else:
            elapsed = t - presence.last
            if elapsed > 0.0:
                presence.power = presence.power * _exp(-elapsed * self._inv_tau) + power
                presence.last = t
            else:  # out-of-order timestamp: count it, keep the clock where it is
                presence.power += power
            presence.count += count
            zone.presences.move_to_end(epc)
        if not presence.qualified:
            if presence.count >= zone.arrival_reads or t - presence.first >= zone.arrival_s:
                presence.qualified = True
                if tag.placed is None:
                    tag.placed = presence
                    self._out.append(TagArrived(epc, zone.name, _at(t)))
                else:
                    self._challenge(tag, presence, t)
        elif tag.placed is not presence:
            self._challenge(tag, presence, t)
        elif tag.challenger is not None:
            self._defend(tag, presence, t)

    def _score(self, presence: _Presence, t: float) -> float:
        """A presence's time-weighted power as of `t`."""
        elapsed = t - presence.last
        return presence.power * _exp(-elapsed * self._inv_tau) if elapsed > 0.0 else presence.power

    def _challenge(self, tag: _Tag, challenger: _Presence, t: float) -> None:
        """A qualified zone other than the tag's own was read: start, continue or drop its challenge."""
        current = tag.placed
        if current is None or current.zone.outages:
            return  # never move a tag out of a zone we cannot see
        if challenger.power > self._score(current, t) * self._margin:
            if tag.challenger is not challenger:
                tag.challenger, tag.challenge_since = challenger, t
            elif t - tag.challenge_since >= self.hold_off_s:
                tag.placed, tag.challenger = challenger, None
                self._out.append(TagMoved(tag.epc, current.zone.name, challenger.zone.name, _at(t)))
        elif tag.challenger is challenger:
            tag.challenger = None

    def _defend(self, tag: _Tag, current: _Presence, t: float) -> None:
        """The tag's own zone was read while challenged: drop the challenge if it is no longer stronger."""
        challenger = tag.challenger
        if challenger is not None and not self._score(challenger, t) > current.power * self._margin:
            tag.challenger = None

    # -- time ----------------------------------------------------------------------------------

    def tick(self, now: datetime | float) -> None:
        """Conclude departures and portal passages whose silence has lasted until `now`."""
        now_s = _seconds(now)
        start = len(self._out)
        for zone in self._placement_zones:
            if zone.outages:
                continue
            horizon = now_s - zone.departure_s
            presences = zone.presences
            while presences:
                epc, presence = next(iter(presences.items()))
                if presence.last > horizon:
                    break
                del presences[epc]
                self._expire(presence, presence.last + zone.departure_s)
        for tracker, _inner, _outer in self._portals:
            tracker.expire(now_s, self._out)
        if len(self._out) - start > 1:  # zones were swept one after another: put facts in time order
            self._out[start:] = sorted(self._out[start:], key=attrgetter("at"))

    def _expire(self, presence: _Presence, at: float) -> None:
        """A presence went silent: drop it, and move or depart the tag if it was placed there."""
        tag = presence.tag
        del tag.presences[presence.zone]
        if tag.challenger is presence:
            tag.challenger = None
        if tag.placed is presence:
            best: _Presence | None = None
            best_score = -1.0
            for other in tag.presences.values():
                if other.qualified and (score := self._score(other, at)) > best_score:
                    best, best_score = other, score
            tag.placed = best
            if best is not None:
                tag.challenger = None
                self._out.append(TagMoved(tag.epc, presence.zone.name, best.zone.name, _at(at)))
            else:
                self._out.append(TagDeparted(tag.epc, presence.zone.name, _at(at), _at(presence.last)))
        if not tag.presences:
            del self._tags[tag.epc]

    # -- outages -------------------------------------------------------------------------------

    def apply(self, event: ReaderEvent) -> None:
        """Act on a reader event: offline/online, antenna down/up, overflow or sequence gap."""
        moment = event.at if self.time_source == "reader" and event.at is not None else event.received_at
        kind = event.kind
        if kind is ReaderEventKind.READER_OFFLINE:
            self.reader_offline(event.reader, moment)
        elif kind is ReaderEventKind.READER_ONLINE:
            self.reader_online(event.reader, moment)
        elif kind is ReaderEventKind.ANTENNA_DISCONNECTED and event.antenna is not None:
            self.antenna_down(event.reader, event.antenna, moment)
        elif kind is ReaderEventKind.ANTENNA_CONNECTED and event.antenna is not None:
            self.antenna_up(event.reader, event.antenna, moment)
        elif kind in (ReaderEventKind.OVERFLOW, ReaderEventKind.SEQUENCE_GAP):
            self.reader_gap(event.reader, moment)

    def reader_offline(self, reader: str | None, at: datetime | float, reason: str = "reader offline") -> None:
        """Every zone the reader serves becomes unknown until it is back online."""
        for zone in self._zones_of(reader, None):
            self._outage_begins(zone, (reader, None), _seconds(at), reason)

    def reader_online(self, reader: str | None, at: datetime | float) -> None:
        """The reader is back: its zones are known again (if nothing else is down) and silence restarts."""
        for zone in self._zones_of(reader, None):
            self._outage_ends(zone, (reader, None), _seconds(at))

    def antenna_down(self, reader: str | None, antenna: int, at: datetime | float) -> None:
        """The zone of a disconnected antenna becomes unknown."""
        for zone in self._zones_of(reader, antenna):
            self._outage_begins(zone, (reader, antenna), _seconds(at), f"antenna {antenna} disconnected")

    def antenna_up(self, reader: str | None, antenna: int, at: datetime | float) -> None:
        """A reconnected antenna's zone is known again (if nothing else is down)."""
        for zone in self._zones_of(reader, antenna):
            self._outage_ends(zone, (reader, antenna), _seconds(at))

    def reader_gap(self, reader: str | None, at: datetime | float) -> None:
        """The reader lost events (overflow, sequence gap): restart silence clocks so none reads as departure."""
        for zone in self._zones_of(reader, None):
            self._refresh(zone, _seconds(at))

    def _zones_of(self, reader: str | None, antenna: int | None) -> list[_Zone]:
        """Zones of one antenna (its own mapping, else the reader's catch-all), or of the whole reader."""
        if antenna is not None:
            zone = self._antennas.get((reader, antenna)) or self._antennas.get((reader, None))
            return [zone] if zone is not None else []
        found = {id(z): z for (r, _), z in self._antennas.items() if r == reader}
        return list(found.values())

    def _outage_begins(self, zone: _Zone, source: AntennaKey, t: float, reason: str) -> None:
        if not zone.outages:
            self._out.append(ZoneUnknown(zone.name, _at(t), reason))
        zone.outages.add(source)
        self._block_portals()

    def _outage_ends(self, zone: _Zone, source: AntennaKey, t: float) -> None:
        if source not in zone.outages:
            return
        zone.outages.discard(source)
        if not zone.outages:
            self._refresh(zone, t)
            self._out.append(ZoneKnown(zone.name, _at(t)))
        self._block_portals()

    def _block_portals(self) -> None:
        """A portal concludes nothing while either of its sides is unknown."""
        for tracker, inner, outer in self._portals:
            tracker.blocked = bool(inner.outages or outer.outages)

    def _refresh(self, zone: _Zone, t: float) -> None:
        """Treat the zone's tags as read at `t` (order by last read is kept: max(last, t) is monotone)."""
        for presence in zone.presences.values():
            if presence.last < t:
                presence.last = t
        if zone.portal is not None:
            zone.portal.refresh(t)

    # -- results and state --------------------------------------------------------------------

    def drain(self) -> list[Fact]:
        """The facts concluded since the last drain, oldest first."""
        out, self._out = self._out, []
        return out

    def placement(self, epc: str) -> str | None:
        """The zone a tag is placed in, or None."""
        tag = self._tags.get(epc)
        return tag.placed.zone.name if tag is not None and tag.placed is not None else None

    def tags_in(self, zone: str) -> frozenset[str]:
        """EPCs placed in a zone (the current set of ALE-style reports)."""
        presences = self._zones[zone].presences
        return frozenset(epc for epc, p in presences.items() if p.tag.placed is p)

    def is_unknown(self, zone: str) -> bool:
        """True while a reader or antenna serving the zone is down."""
        return bool(self._zones[zone].outages)

    def __len__(self) -> int:
        return len(self._tags)

"""When a location works: opening hours, the daily order cut-off, handling days, pickup readiness. Pure functions.

Opening hours are `{"mon": [["09:00", "19:00"]], ...}` in the location's time zone (Location.timezone); a day not
listed is closed; an interval that closes at or before it opens runs past midnight; no opening hours at all means
open every day, all day (a warehouse). An order placed before the
cut-off on an open day is handled from that day; after it, from the next open day. Handling days and the transit
band's days then follow: handling counts open days, transit counts calendar days (carriers deliver every day but
Sunday is not modelled).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOOKAHEAD_DAYS = 21  # a location closed for longer than this is treated as not opening (no promise made)


@dataclass(frozen=True)
class Hours:
    """A location's week: opening intervals per weekday (0 = Monday), its zone and its cut-off."""

    zone: ZoneInfo
    week: tuple[tuple[tuple[time, time], ...], ...] | None  # None: always open
    cutoff: time

    def intervals(self, day: date) -> tuple[tuple[time, time], ...]:
        """The opening intervals of a local day."""
        if self.week is None:
            return ((time.min, time.max),)
        return self.week[day.weekday()]

    def is_open_day(self, day: date) -> bool:
        return bool(self.intervals(day))


def _clock(text: str) -> time:
    if text in ("24:00", "23:59"):
        return time.max
    return time.fromisoformat(text)


def hours_of(opening_hours: dict[str, Any] | None, zone: str, cutoff: str) -> Hours:
    """A location's Hours from its stored fields (malformed hours are read as always open: the API validates them)."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    week: tuple[tuple[tuple[time, time], ...], ...] | None = None
    if opening_hours:
        try:
            days: list[list[tuple[time, time]]] = [[] for _ in DAYS]
            for i, day in enumerate(DAYS):
                for opens, closes in opening_hours.get(day, ()):
                    start, end = _clock(opens), _clock(closes)
                    if end > start:
                        days[i].append((start, end))
                    else:  # past midnight: until the end of the day, then from midnight the next day
                        days[i].append((start, time.max))
                        if end > time.min:
                            days[(i + 1) % 7].append((time.min, end))
            week = tuple(tuple(sorted(intervals)) for intervals in days)
        except (TypeError, ValueError):
            week = None
    return Hours(tz, week, _clock(cutoff))


def next_open_day(hours: Hours, day: date) -> date | None:
    """The first open day from `day` on (itself included), or None within the lookahead."""
    for offset in range(LOOKAHEAD_DAYS):
        candidate = day + timedelta(days=offset)
        if hours.is_open_day(candidate):
            return candidate
    return None


def handling_start(hours: Hours, now: datetime) -> date | None:
    """The local day a location starts handling an order placed `now`: today if open and before the cut-off."""
    local = now.astimezone(hours.zone)
    today = local.date()
    if hours.is_open_day(today) and local.time() < hours.cutoff:
        return today
    return next_open_day(hours, today + timedelta(days=1))


def dispatch_day(hours: Hours, now: datetime, handling_days: int) -> date | None:
    """The local day a parcel leaves: the handling start plus `handling_days` further open days."""
    day = handling_start(hours, now)
    for _ in range(handling_days):
        if day is None:
            return None
        day = next_open_day(hours, day + timedelta(days=1))
    return day


def delivery_date(hours: Hours, now: datetime, handling_days: int, transit_days: int) -> date | None:
    """The earliest day a parcel from this location arrives: dispatch day plus the transit band's days."""
    day = dispatch_day(hours, now, handling_days)
    return None if day is None else day + timedelta(days=transit_days)


def ready_at(hours: Hours, earliest: datetime, prepare: timedelta) -> datetime | None:
    """The first moment, at or after `earliest`, when a store is open and has had `prepare` of opening time to get
    an order ready (preparation happens while the store is open; it may run over several opening intervals)."""
    local = earliest.astimezone(hours.zone)
    left = prepare
    day = local.date()
    for _ in range(LOOKAHEAD_DAYS):
        for start, end in hours.intervals(day):
            begin = datetime.combine(day, start, hours.zone)
            finish = datetime.combine(day, end, hours.zone) if end != time.max else datetime.combine(day + timedelta(days=1), time.min, hours.zone)
            if finish <= local:
                continue
            begin = max(begin, local)
            if begin + left <= finish:
                return begin + left
            left -= finish - begin
        day += timedelta(days=1)
    return None


def label(moment: datetime, now: datetime, zone: ZoneInfo) -> str:
    """ "today at 17:00", "tomorrow at 10:00" or "Tue 9 Dec at 10:00", in the store's time."""
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    clock = local.strftime("%H:%M")
    if local.date() == today:
        return f"today at {clock}"
    if local.date() == today + timedelta(days=1):
        return f"tomorrow at {clock}"
    return f"{local.strftime('%a')} {local.day} {local.strftime('%b')} at {clock}"

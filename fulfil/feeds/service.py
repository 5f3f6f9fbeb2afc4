"""The local inventory feed's rows: what each active store may advertise of each product it has a stock level for.

- quantity: available units there (fulfil.stock.rules.available: never safety stock, reserved or quarantined units);
- bucket: fulfil.stock.rules.bucket of that quantity (Settings.availability_limited_max);
- pickup: units there -> `buy`, `same day`; none there but some at another active location -> `ship to store`, the
  fewest days a parcel from one of them takes (its handling days + the transit band of the distance, as routing
  counts them); none anywhere -> `not supported`.

A full feed reads everything in one snapshot; an incremental one (`since` a cursor) re-sends every row that may differ
from what the feeds up to that cursor said (docs/feeds.md, "Why the cursor is exact")."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from fulfil.config import Settings
from fulfil.errors import Gone, InvalidInput
from fulfil.feeds import cursor as cursors
from fulfil.feeds import repository
from fulfil.feeds.repository import LevelRow, Place
from fulfil.routing_runs.service import params as routing_params
from fulfil.stock.rules import IN_STOCK, LIMITED, OUT_OF_STOCK, available, bucket
from routing.cost import haversine_km, transit_days

# Google's English values (local product inventory data specification).
AVAILABILITY = {IN_STOCK: "in stock", LIMITED: "limited availability", OUT_OF_STOCK: "out of stock"}
BUY, SHIP_TO_STORE, NOT_SUPPORTED = "buy", "ship to store", "not supported"
SAME_DAY = "same day"
MULTI_WEEK_DAYS = 7  # from a week on, Google's pickup_SLA is `multi-week`


def pickup_sla(days: int) -> str:
    """A ship-to-store delay in days as Google's pickup-later `pickup_SLA`: `next day` (1 day or less), `2-day` to
    `6-day`, then `multi-week`."""
    if days <= 1:
        return "next day"
    if days < MULTI_WEEK_DAYS:
        return f"{days}-day"
    return "multi-week"


class FeedRow(NamedTuple):
    """One row: one product (its GTIN as Google's `id`) at one store."""

    id: str
    store_code: str
    quantity: int
    bucket: str
    pickup_method: str
    pickup_sla: str | None

    @property
    def availability(self) -> str:
        """The bucket in Google's words."""
        return AVAILABILITY[self.bucket]


@dataclass(frozen=True)
class Start:
    """A feed about to be read: the cursor it hands out, and where it starts (None: a full feed)."""

    cursor: cursors.Cursor
    since: cursors.Cursor | None


def start(session: Session, settings: Settings, since: str | None) -> Start:
    """Read the reader's position and check `since` against it, before any row is read (the cursor handed out must
    be no later than the rows: fulfil.feeds.repository.head). A cursor that is no cursor, or one this database never
    handed out, is 422; one handed out under other rules is 410."""
    here = repository.head(session)
    rules = cursors.rules_of(settings)
    if len(here.open) <= cursors.MAX_OPEN:
        position = cursors.Cursor(here.next, here.open, rules)
    else:  # too many to list: everything from the oldest of them on (more rows re-sent, none missed)
        position = cursors.Cursor(here.oldest, (), rules)
    if since is None:
        return Start(position, None)
    try:
        asked = cursors.parse(since)
    except cursors.Garbled:
        raise _invalid(since, "not a feed cursor: pass the Fulfil-Feed-Cursor (or `cursor`) of an earlier feed, unchanged") from None
    if asked.rules != rules:
        raise Gone(
            "this cursor was handed out under other feed rules (FULFIL_AVAILABILITY_LIMITED_MAX or FULFIL_ROUTING_TRANSIT_DAYS "
            "changed, or a new version computes rows differently): fetch the full feed and use its cursor",
            details={"since": since, "rules": rules}, code="feed_cursor_gone",
        )
    if asked.next > here.next:
        raise _invalid(since, "unknown cursor: it is ahead of every cursor this database handed out (another database's?)")
    return Start(position, asked)


def _invalid(since: str, message: str) -> InvalidInput:
    return InvalidInput(f"since: {message}", details=[{"field": "query.since", "message": message, "type": "feed_cursor"}])


class Network:
    """The locations of one snapshot, and for every active store the days a parcel takes to it from each active
    location (handling days + transit band of the distance: routing.cost, as routing counts a ship-to-store leg)."""

    def __init__(self, places: list[Place], settings: Settings) -> None:
        self.places = {p.id: p for p in places}
        active = [p for p in places if p.active]
        self.column = {p.id: j for j, p in enumerate(active)}  # active location -> column of `days`
        stores = [p for p in active if p.store]
        self.row = {p.id: i for i, p in enumerate(stores)}  # active store -> row of `days`
        lat = np.array([p.lat for p in active], dtype=np.float64)
        lon = np.array([p.lon for p in active], dtype=np.float64)
        handling = np.array([p.handling_days for p in active], dtype=np.int64)
        rows = np.array([self.column[p.id] for p in stores], dtype=np.int64)
        km = haversine_km(lat[rows][:, None], lon[rows][:, None], lat[None, :], lon[None, :])
        self.days: npt.NDArray[np.int64] = handling[None, :] + transit_days(routing_params(settings), km)

    def changed_since(self, since: cursors.Cursor) -> set[str]:
        """Locations whose feed-relevant fields changed in a way the cursor has not seen."""
        return {p.id for p in self.places.values() if since.unseen(p.change_seq)}

    def fewest_days(self, stores: list[str], sources: list[int]) -> list[int]:
        """For each store, the fewest days a parcel from one of the `sources` (columns) takes to reach it."""
        block = self.days[np.ix_([self.row[s] for s in stores], sources)]
        return [int(d) for d in block.min(axis=1)]


def rows(session: Session, settings: Settings, since: cursors.Cursor | None) -> Iterator[FeedRow]:
    """The feed's rows in the session's snapshot, by product then store: every row (full), or every row that may
    have changed since the cursor (incremental), including a closed store's rows withdrawn (out of stock, pickup not
    supported)."""
    network = Network(repository.places(session), settings)
    limited_max = settings.availability_limited_max
    if since is None:
        levels = repository.all_levels(session)
        changed: set[str] = set()
    else:
        levels = repository.levels_changed_since(session, since.next, since.open)
        changed = network.changed_since(since)
    for gtin, group in groupby(levels, key=itemgetter(0)):
        yield from _product_rows(gtin, list(group), network, limited_max, since, changed)


def _product_rows(
    gtin: str, levels: list[LevelRow], network: Network, limited_max: int,
    since: cursors.Cursor | None, changed: set[str],
) -> Iterable[FeedRow]:
    """The rows of one product, from all its levels (the sources of ship-to-store are among them): all of them, or
    (since a cursor) those that may differ from what the feeds up to it said."""
    sources: list[int] = []
    at_stores: list[tuple[str, int, int]] = []  # active store, available, change number
    withdrawn: list[str] = []  # closed stores whose closing the reader has not seen
    sources_changed = False  # who has units to offer, or where they are: out-of-stock rows (ship to store) may differ
    for _gtin, location_id, on_hand, reserved, safety, change_seq, source_seq in levels:
        place = network.places.get(location_id)
        if place is None:  # pragma: no cover - a level's location is in the same snapshot (foreign key)
            continue
        units = available(on_hand, reserved, safety)
        if since is not None and (since.unseen(source_seq) or location_id in changed):
            sources_changed = True
        if place.active:
            if units > 0:
                sources.append(network.column[location_id])
            if place.store:
                at_stores.append((location_id, units, change_seq))
        elif place.store and location_id in changed:
            withdrawn.append(location_id)

    def due(store: str, units: int, change_seq: int) -> bool:
        """A row that may differ from what the cursor's feeds said: its units changed, its store opened or moved, or
        (out of stock: ship to store) the product's sources changed. A row with units is `buy` whatever the sources."""
        if since is None or since.unseen(change_seq) or store in changed:
            return True
        return sources_changed and units == 0

    due_rows = [(store, units) for store, units, change_seq in at_stores if due(store, units, change_seq)]
    empty = [store for store, units in due_rows if units == 0]
    days = dict(zip(empty, network.fewest_days(empty, sources))) if empty and sources else {}
    out = []
    for store, units in due_rows:
        if units > 0:
            out.append(FeedRow(gtin, store, units, bucket(units, limited_max), BUY, SAME_DAY))
        elif store in days:
            out.append(FeedRow(gtin, store, 0, OUT_OF_STOCK, SHIP_TO_STORE, pickup_sla(days[store])))
        else:
            out.append(FeedRow(gtin, store, 0, OUT_OF_STOCK, NOT_SUPPORTED, None))
    out.extend(FeedRow(gtin, store, 0, OUT_OF_STOCK, NOT_SUPPORTED, None) for store in withdrawn)
    return out

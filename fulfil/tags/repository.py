"""Tag rows, their versioned transitions, and anomalies (tags seen where their state says they cannot be)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fulfil.models import RfidTag, TagAnomaly, TagState

# States in which a tag has left stock for good: readers never bring it back (a sighting is an anomaly).
# Only an explicit workflow may (a customer return, a later issue: a transition to in_stock through
# `transition`, with its stock event keyed on the new version).
LEFT_STOCK = frozenset({TagState.SOLD, TagState.SHIPPED})


def get(session: Session, epc: str) -> RfidTag | None:
    """A tag as it is in the database now."""
    session.flush()
    return session.get(RfidTag, epc, populate_existing=True)


def transition(session: Session, tag: RfidTag, **changes: object) -> int | None:
    """Apply changes if nobody moved the tag since it was read (version check); the new version, or None."""
    seen = tag.version
    result = session.execute(
        update(RfidTag).where(RfidTag.epc == tag.epc, RfidTag.version == seen).values(version=seen + 1, **changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    session.expire(tag)
    return seen + 1


def record_anomaly(session: Session, tag: RfidTag, *, location_id: str, zone: str, seen_at: datetime, reader_id: str | None, reason: str) -> bool:
    """Record that `tag`, in its current state and version, was seen at a location; False when that was already
    recorded (a repeated read, a redelivery, a second worker). The tag itself is left exactly as it is."""
    values = {"epc": tag.epc, "tag_version": tag.version, "tag_state": tag.state, "gtin": tag.gtin, "location_id": location_id,
              "zone": zone, "reader_id": reader_id, "reason": reason, "seen_at": seen_at}
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(TagAnomaly).values(**values).on_conflict_do_nothing().returning(TagAnomaly.id)
    return session.scalar(stmt) is not None


def anomalies_of(session: Session, epc: str, location_id: str | None = None) -> Sequence[TagAnomaly]:
    """A tag's anomalies, oldest first (only those seen at `location_id` when given)."""
    stmt = select(TagAnomaly).where(TagAnomaly.epc == epc)
    if location_id is not None:
        stmt = stmt.where(TagAnomaly.location_id == location_id)
    return session.scalars(stmt.order_by(TagAnomaly.id)).all()

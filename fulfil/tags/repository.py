"""Tag rows and their versioned transitions."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from fulfil.models import RfidTag


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

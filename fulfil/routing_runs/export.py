"""The live state as a routing instance: open orders nothing has started on, and the stock they could use."""

from __future__ import annotations

from sqlalchemy.orm import Session

import routing
from fulfil.config import Settings
from fulfil.routing_runs import assign, repository
from fulfil.routing_runs.service import build_instance


def export_instance(session: Session, settings: Settings) -> routing.Instance:
    """Everything a replay needs to decide today's unstarted orders afresh under another policy."""
    orders = list(repository.exportable_orders(session))
    live = [s for o in orders for s in assign.live_shipments(o)]
    gtins = {line.gtin for o in orders for line in o.lines}
    routed_orders = [repository.order_for_routing(o, assign.remaining_units(o, []), assign.excluded_locations(o)) for o in orders]
    return build_instance(
        settings,
        repository.locations(session, exclude_shipments=[s.id for s in live]),
        repository.stock(session, gtins, held_by=live),
        routed_orders,
    )

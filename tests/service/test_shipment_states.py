"""The shipment status machine."""

from __future__ import annotations

import pytest

from fulfil.errors import InvalidTransition
from fulfil.models import Shipment, ShipmentStatus as S
from fulfil.shipments.states import TRANSITIONS, advance, can_move

HAPPY_PATH = [S.PICKING, S.PICKED, S.PACKED, S.VERIFIED, S.SHIPPED]


def shipment(status: S = S.ASSIGNED) -> Shipment:
    return Shipment(id=1, order_id=1, location_id="X", status=status)


def test_happy_path() -> None:
    s = shipment()
    for status in HAPPY_PATH:
        advance(s, status)
    assert s.status is S.SHIPPED


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("to", list(S))
def test_only_listed_transitions_are_allowed(current: S, to: S) -> None:
    s = shipment(current)
    if to in TRANSITIONS[current]:
        advance(s, to, reason="short pick")
        assert s.status is to
    else:
        with pytest.raises(InvalidTransition) as refused:
            advance(s, to, reason="x")
        assert refused.value.status_code == 409
        assert refused.value.details["allowed"] == sorted(x.value for x in TRANSITIONS[current])
        assert s.status is current


def test_rejection_needs_a_reason_and_keeps_it() -> None:
    s = shipment(S.PICKING)
    with pytest.raises(InvalidTransition):
        advance(s, S.REJECTED)
    advance(s, S.REJECTED, reason="damaged")
    assert s.rejection_reason == "damaged"


def test_terminal_states() -> None:
    assert not any(can_move(S.SHIPPED, to) for to in S)
    assert not any(can_move(S.REJECTED, to) for to in S)
    assert not can_move(S.VERIFIED, S.REJECTED)

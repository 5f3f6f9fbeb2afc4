"""Factories for small routing instances."""

from __future__ import annotations

import copy
from typing import Any

import pytest

EXAMPLE: dict[str, Any] = {
    "format": "fulfil.routing-instance/1",
    "params": {"parcel_base_cost": 4.50, "cost_per_km": 0.012, "split_penalty": 2.00, "unfilled_penalty": 250.0,
               "transit_days": [[150, 1], [600, 2], [None, 3]]},
    "locations": [
        {"id": "DC-PARIS", "kind": "warehouse", "lat": 48.95, "lon": 2.55, "capacity": 5000, "pick_cost_per_unit": 0.40, "handling_days": 1},
        {"id": "ST-LYON-01", "kind": "store", "lat": 45.764, "lon": 4.8357, "capacity": 40, "pick_cost_per_unit": 1.20, "handling_days": 0},
    ],
    "stock": [{"location": "ST-LYON-01", "sku": "08712345678906", "on_hand": 4, "safety": 1}],
    "orders": [
        {"id": "W-1001", "channel": "web", "ship_to": {"lat": 45.70, "lon": 4.90}, "promise_days": 2,
         "lines": [{"sku": "08712345678906", "qty": 1}]},
        {"id": "S-0042", "channel": "store", "pickup_at": "ST-LYON-01", "lines": [{"sku": "08712345678906", "qty": 2}]},
    ],
}


@pytest.fixture
def example() -> dict[str, Any]:
    """The instance of docs/formats/routing.md, as a fresh dict."""
    return copy.deepcopy(EXAMPLE)

"""The live stream: stock and verification changes of a location as server-sent events, resumable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.sse import sse_events


def read_events(client: TestClient, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    with client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(sse_events(response.iter_lines()))


def test_stream_replays_and_resumes(
    client: TestClient, ops: dict[str, str], auth: Callable[..., dict[str, str]], make_location: Callable[..., Any], make_product: Callable[..., Any]
) -> None:
    store, gtin = make_location().id, make_product().gtin
    for delta in (5, -1, 2):
        body = {"location_id": store, "gtin": gtin, "delta": delta, "reason": "count"}
        assert client.post("/api/v1/stock/adjustments", headers=ops, json=body).status_code == 201
    picker = auth("picker", store)
    events = read_events(client, f"/api/v1/locations/{store}/stream?from_start=true&max_events=3", picker)
    assert [e["event"] for e in events] == ["stock"] * 3
    assert [e["data"]["on_hand_delta"] for e in events] == [5, -1, 2]
    # Resume after the first event: only the next ones come.
    resumed = read_events(client, f"/api/v1/locations/{store}/stream?max_events=2", {**picker, "Last-Event-ID": events[0]["id"]})
    assert [e["data"]["on_hand_after"] for e in resumed] == [4, 6]
    other = make_location().id
    assert client.get(f"/api/v1/locations/{other}/stream?max_events=1", headers=picker).status_code == 403

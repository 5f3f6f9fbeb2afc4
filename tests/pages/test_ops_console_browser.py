"""The ops console in a real Chromium on a desktop (1280 × 800): signing in with an ops token, the day's key
figures, the routing decisions with their explanations, and actions that change them visibly — a re-route forced
to another location, a hold and its release — checked through the API as well. Screenshots go to var/screenshots/."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.pages.store_app import DEADLINE_MS, SCREENSHOTS
from tests.service.test_api_docs import CHROMIUM, CHROMIUM_ARGS
from tests.service.test_cli import env, seeded_token, serving  # noqa: F401 (env is a fixture)

DESKTOP = {"viewport": {"width": 1280, "height": 800}}


def test_ops_see_the_day_and_change_a_decision(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    token = seeded_token(env)
    ops = {"Authorization": f"Bearer {token}"}
    with serving({**env, "FULFIL_ROUTING_BATCH_INTERVAL_SECONDS": "0"}, drain=True) as (base, _proc), sync_playwright() as pw:
        stocked = httpx.get(f"{base}/api/v1/stock", headers=ops, params={"location_id": "ST-LYON-01"}).json()
        gtin = next(level["gtin"] for level in stocked if level["available"] >= 1)
        order = httpx.post(f"{base}/api/v1/orders", headers=ops, json={
            "external_id": f"OPS-{uuid.uuid4().hex[:8]}", "channel": "web", "lines": [{"gtin": gtin, "qty": 1}],
            "ship_to": {"lat": 45.7597, "lon": 4.8357, "city": "Lyon"}}).json()
        first = order["shipments"][0]["location_id"]
        target = "DC-PARIS" if first != "DC-PARIS" else "DC-MARSEILLE"
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="en-GB", **DESKTOP).new_page()
            page.goto(f"{base}/ops")
            page.get_by_label("Ops token").fill("ffl_not-a-token")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("alert")).to_contain_text("not a valid ops token", timeout=DEADLINE_MS)
            page.get_by_label("Ops token").fill(token)
            page.get_by_role("button", name="Sign in").click()
            today = datetime.now(UTC).date().isoformat()
            expect(page.get_by_role("heading", name=f"The network on {today}")).to_be_visible(timeout=DEADLINE_MS)
            figures = page.get_by_role("region", name="Key figures of the day")
            expect(figures).to_contain_text("Orders received")
            chart = figures.get_by_role("img", name="Orders received over the last 7 days")
            received = httpx.get(f"{base}/api/v1/ops/kpis", headers=ops).json()["orders"]["received"]
            expect(chart.locator("circle").last.locator("title")).to_have_text(f"{today}: {received}")
            row = page.get_by_role("row", name=f"for order {order['id']}").first
            expect(row).to_contain_text(first)
            expect(row).to_contain_text("Next best")  # the explanation: the alternative and its extra cost
            places = httpx.get(f"{base}/api/v1/locations", headers=ops).json()
            the_map = page.get_by_role("img", name="Map of the network")
            expect(the_map).to_be_visible()
            assert the_map.locator("circle.store").count() == sum(1 for p in places if p["kind"] == "store")
            assert the_map.locator("rect.warehouse").count() == sum(1 for p in places if p["kind"] == "warehouse")
            assert the_map.locator("path[data-country=France]").get_attribute("d").count("M") >= 2  # the mainland and Corsica
            trip = the_map.locator(f"line[data-order='{order['id']}']")
            expect(trip).to_have_attribute("data-from", first)
            _shot(page, "ops-console")

            row.get_by_label("Send to").select_option(target)
            row.get_by_role("button", name=f"Re-route order {order['id']}").click()
            expect(page.get_by_role("status")).to_contain_text(f"Done: order {order['id']}: {target}", timeout=DEADLINE_MS)
            newest = page.get_by_role("row", name=f"for order {order['id']}").first
            expect(newest).to_contain_text(target)
            expect(newest).to_contain_text("override")
            moved = page.get_by_role("img", name="Map of the network").locator(f"line[data-order='{order['id']}']")
            expect(moved).to_have_attribute("data-from", target)  # the map follows the decision in force
            expect(moved).to_have_class("override")
            current = httpx.get(f"{base}/api/v1/orders/{order['id']}/routing", headers=ops).json()["current"]
            assert (current["location_ids"], current["solver"]) == ([target], "manual")

            newest.get_by_label("Hold because").fill("fraud check")
            newest.get_by_role("button", name=f"Hold order {order['id']}").click()
            expect(page.get_by_role("row", name=f"for order {order['id']}").first).to_contain_text("held: fraud check", timeout=DEADLINE_MS)
            assert httpx.get(f"{base}/api/v1/orders/{order['id']}", headers=ops).json()["hold_reason"] == "fraud check"
            _shot(page, "ops-console-held")
            page.get_by_role("row", name=f"for order {order['id']}").first.get_by_role("button", name=f"Release order {order['id']}").click()
            expect(page.get_by_role("status")).to_contain_text("released", timeout=DEADLINE_MS)
            assert httpx.get(f"{base}/api/v1/orders/{order['id']}", headers=ops).json()["held_at"] is None

            page.get_by_label("Tag").select_option("override")
            page.get_by_role("button", name="Show").click()
            expect(page.get_by_role("row", name=f"for order {order['id']}")).to_have_count(1, timeout=DEADLINE_MS)  # only the override
            page.get_by_role("button", name="Français").click()
            expect(page.get_by_role("heading", name=f"Le réseau le {today}")).to_be_visible(timeout=DEADLINE_MS)
            expect(page.get_by_label("Étiquette")).to_have_value("override")  # the filters kept
        finally:
            browser.close()


def _shot(page: object, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]

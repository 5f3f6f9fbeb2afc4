"""The ops console in a real Chromium on a desktop (1280 × 800): signing in with an ops token, the day's key
figures, the routing decisions with their explanations, and actions that change them visibly — a re-route forced
to another location, a hold and its release — checked through the API as well; a what-if replay of a window under two
policies; live updates of the decisions, key figures and map without a reload. Screenshots go to var/screenshots/."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.pages.store_app import DEADLINE_MS, SCREENSHOTS
from tests.service.test_api_docs import CHROMIUM, CHROMIUM_ARGS
from tests.service.test_cli import seeded_token, serving

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


def test_ops_replay_a_window_under_two_policies(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    """The what-if page: a window replayed greedy against optimised (no split penalty, no safety stock), both
    columns with figures, the same as the API's for that window, the better one marked."""
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    token = seeded_token(env)
    ops = {"Authorization": f"Bearer {token}"}
    # The window opens on the next whole second after seeding (the form's precision): the seeded stock is in it,
    # the seeded orders are not.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    while datetime.now(UTC) < start:  # a condition on the clock, less than a second
        time.sleep(0.01)
    with serving({**env, "FULFIL_ROUTING_BATCH_INTERVAL_SECONDS": "0"}, drain=True) as (base, _proc), sync_playwright() as pw:
        stocked = httpx.get(f"{base}/api/v1/stock", headers=ops, params={"location_id": "ST-LYON-01"}).json()
        # Lyon customers: two want 2 units of a product the Lyon store keeps its last unit of as safety stock (only
        # policy B, which uses safety stock, can serve them from the store), one wants a product the store has plenty of.
        short = [level["gtin"] for level in stocked if level["available"] == 1 and level["safety"] >= 1][:2]
        plenty = next(level["gtin"] for level in stocked if level["available"] >= 3)
        wanted = [{short[0]: 2}, {short[1]: 2}, {plenty: 1}]
        for lines in wanted:
            placed = httpx.post(f"{base}/api/v1/orders", headers=ops, json={
                "external_id": f"WHATIF-{uuid.uuid4().hex[:8]}", "channel": "web", "lines": [{"gtin": g, "qty": q} for g, q in lines.items()],
                "ship_to": {"lat": 45.7597, "lon": 4.8357, "city": "Lyon"}})
            assert placed.status_code == 201, placed.text
        end = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=2)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="en-GB", **DESKTOP).new_page()
            page.goto(f"{base}/ops")
            page.get_by_label("Ops token").fill(token)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("navigation", name="Pages").get_by_role("link", name="What if").click()
            expect(page.get_by_role("heading", name="What if: a past window under two policies")).to_be_visible(timeout=DEADLINE_MS)
            page.get_by_label("From", exact=True).fill(start.strftime("%Y-%m-%dT%H:%M:%S"))
            page.get_by_label("To", exact=True).fill(end.strftime("%Y-%m-%dT%H:%M"))
            page.get_by_label("Policy A solver").select_option("greedy")
            page.get_by_label("Policy B solver").select_option("optimised")
            page.get_by_label("Policy B split penalty").fill("0")
            page.get_by_label("Policy B safety stock").select_option("none")
            page.get_by_role("button", name="Replay").click()

            table = page.get_by_role("table", name="Policy A against policy B")
            expect(table).to_be_visible(timeout=DEADLINE_MS)
            expect(table.get_by_role("columnheader", name=re.compile(r"^Policy A"))).to_contain_text("greedy")
            expect(table.get_by_role("columnheader", name=re.compile(r"^Policy B"))).to_contain_text("optimised")
            answer = httpx.post(f"{base}/api/v1/ops/whatif", headers=ops, timeout=60, json={
                "since": start.isoformat(), "until": end.isoformat(), "a": {"solver": "greedy"}, "b": {"solver": "optimised", "split_penalty": 0, "safety_stock": "none"}}).json()
            a, b = (p["kpis"] for p in answer["policies"])
            assert a["orders"] == b["orders"] == len(wanted)
            assert a["unfilled_units"] == b["unfilled_units"] == 0
            assert b["cost"] < a["cost"] and answer["better"]["cost"] == "B"  # the store's last units beat a warehouse's parcel

            def cells(label: str) -> list[str]:
                row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=label, exact=True))
                return [c.strip() for c in row.get_by_role("cell").all_inner_texts()]

            assert cells("Orders")[:2] == [str(a["orders"]), str(b["orders"])]
            assert cells("Total cost")[:2] == [f"{a['cost']:.2f}", f"{b['cost']:.2f} better"]
            assert cells("Total cost")[2] == f"{b['cost'] - a['cost']:+.2f}"
            assert cells("Parcels")[:2] == [str(a["parcels"]) + (" better" if answer["better"]["parcels"] == "A" else ""),
                                           str(b["parcels"]) + (" better" if answer["better"]["parcels"] == "B" else "")]
            assert cells("Split orders")[2] == f"{b['split_orders'] - a['split_orders']:+d}"
            assert cells("Orders")[3] == str(answer["as_decided"]["kpis"]["orders"])
            _shot(page, "ops-console-whatif")
            page.get_by_role("button", name="Français").click()
            expect(page.get_by_role("table", name="Politique A contre politique B")).to_be_visible(timeout=DEADLINE_MS)  # the replay kept
            expect(page.get_by_label("Pénalité de fractionnement de la politique B")).to_have_value("0")
        finally:
            browser.close()


def test_the_console_shows_new_decisions_without_a_reload(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    """Orders placed through the API while the console is open: their decisions, the key figures and the map's trips
    appear without a reload, announced politely; a section where someone is typing waits until they are done."""
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    token = seeded_token(env)
    ops = {"Authorization": f"Bearer {token}"}
    with serving({**env, "FULFIL_ROUTING_BATCH_INTERVAL_SECONDS": "0"}, drain=True) as (base, _proc), sync_playwright() as pw:
        stocked = httpx.get(f"{base}/api/v1/stock", headers=ops, params={"location_id": "ST-LYON-01"}).json()
        gtin = next(level["gtin"] for level in stocked if level["available"] >= 3)

        def order() -> dict[str, Any]:
            placed = httpx.post(f"{base}/api/v1/orders", headers=ops, json={
                "external_id": f"LIVE-{uuid.uuid4().hex[:8]}", "channel": "web", "lines": [{"gtin": gtin, "qty": 1}],
                "ship_to": {"lat": 45.7597, "lon": 4.8357, "city": "Lyon"}})
            assert placed.status_code == 201, placed.text
            body: dict[str, Any] = placed.json()
            return body

        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="en-GB", **DESKTOP).new_page()
            page.goto(f"{base}/ops")
            page.get_by_label("Ops token").fill(token)
            page.get_by_role("button", name="Sign in").click()
            received = page.locator("#kpis dt", has_text="Orders received").locator("xpath=following-sibling::dd[1]")
            expect(received).to_have_text(str(httpx.get(f"{base}/api/v1/ops/kpis", headers=ops).json()["orders"]["received"]), timeout=DEADLINE_MS)
            page.evaluate("window.sameDocument = true")  # gone if the page reloads

            first = order()
            row = page.get_by_role("row", name=f"for order {first['id']}")
            expect(row).to_be_visible(timeout=DEADLINE_MS)
            expect(row).to_contain_text(first["shipments"][0]["location_id"])
            expect(page.locator("#live")).to_have_text("1 new routing decision")
            expect(page.get_by_role("img", name="Map of the network").locator(f"line[data-order='{first['id']}']")).to_have_count(1)
            expect(received).to_have_text(str(httpx.get(f"{base}/api/v1/ops/kpis", headers=ops).json()["orders"]["received"]))
            assert page.evaluate("window.sameDocument") is True

            # Someone types a hold reason: the decisions wait, the key figures still move.
            reason = row.get_by_label("Hold because")
            reason.fill("customer ca")
            second = order()
            expect(received).to_have_text(str(httpx.get(f"{base}/api/v1/ops/kpis", headers=ops).json()["orders"]["received"]), timeout=DEADLINE_MS)
            expect(page.get_by_role("row", name=f"for order {second['id']}")).to_have_count(0)
            expect(reason).to_have_value("customer ca")
            expect(reason).to_be_focused()
            reason.fill("")
            reason.blur()
            expect(page.get_by_role("row", name=f"for order {second['id']}")).to_be_visible(timeout=DEADLINE_MS)
            expect(page.locator("#live")).to_have_text("1 new routing decision")
            assert page.evaluate("window.sameDocument") is True
        finally:
            browser.close()

"""The store app in a real Chromium at a handheld's size (360 × 640, touch), in French as the demo network's staff
would have it: sign in with the store and a PIN, see the task queue, sign out. Screenshots of each screen are
written to var/screenshots/ (looked at by people: would a store worker understand this screen at a glance?)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.service.test_api_docs import CHROMIUM, CHROMIUM_ARGS
from tests.service.test_cli import run, seeded_token, serving

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
HANDHELD = {"viewport": {"width": 360, "height": 640}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}
DEADLINE_MS = 15_000


def test_a_store_worker_signs_in_with_a_pin_and_sees_the_queue(env: dict[str, str]) -> None:  # noqa: F811 (fixture)
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    ops = {"Authorization": f"Bearer {seeded_token(env)}"}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with serving(env) as (base, _proc), sync_playwright() as pw:
        made = httpx.post(f"{base}/api/v1/staff", headers=ops, json={"location_id": "ST-LYON-01", "name": "Léa", "pin": "482916"})
        assert made.status_code == 201, made.text
        lyon = httpx.get(f"{base}/api/v1/locations/ST-LYON-01", headers=ops).json()["name"]
        levels = httpx.get(f"{base}/api/v1/stock", params={"location_id": "ST-LYON-01"}, headers=ops).json()
        gtin = next(level["gtin"] for level in levels if level["available"] >= 1)
        order = httpx.post(f"{base}/api/v1/orders", headers=ops, json={
            "external_id": "BROWSER-1", "channel": "web", "pickup_location_id": "ST-LYON-01", "lines": [{"gtin": gtin, "qty": 1}]})
        assert order.status_code == 201 and order.json()["shipments"][0]["location_id"] == "ST-LYON-01", order.text
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="fr-FR", **HANDHELD).new_page()
            page.goto(f"{base}/store")
            expect(page.get_by_role("heading", name="Connexion")).to_be_visible(timeout=DEADLINE_MS)
            page.get_by_label("Magasin").select_option(label=lyon)
            page.get_by_label("Votre code PIN").fill("000000")
            page.get_by_role("button", name="Connexion").tap()
            expect(page.get_by_role("alert")).to_contain_text("Code PIN incorrect", timeout=DEADLINE_MS)
            page.screenshot(path=str(SCREENSHOTS / "store-sign-in-wrong-pin.png"))

            page.get_by_label("Votre code PIN").fill("482916")
            page.get_by_role("button", name="Connexion").tap()
            expect(page.get_by_role("heading", name="Tâches")).to_be_visible(timeout=DEADLINE_MS)
            expect(page.get_by_text(f"Léa · {lyon}")).to_be_visible()
            task = page.get_by_role("list", name="Tâches, les plus urgentes d'abord").get_by_role("listitem").first
            expect(task).to_contain_text("Préparer")
            expect(task).to_contain_text(f"Commande {order.json()['id']}")
            expect(task).to_contain_text("avant")
            assert page.evaluate("document.cookie").find("fulfil_session") == -1  # scripts cannot read the session
            for button in page.get_by_role("button").all():  # touch targets of 44 px and more
                box = button.bounding_box()
                assert box is not None and box["height"] >= 44 and box["width"] >= 44, button.inner_text()
            page.screenshot(path=str(SCREENSHOTS / "store-tasks.png"), full_page=True)

            page.get_by_role("button", name="English").tap()
            expect(page.get_by_role("heading", name="Tasks")).to_be_visible(timeout=DEADLINE_MS)
            page.get_by_role("button", name="Sign out").tap()
            expect(page.get_by_role("status")).to_contain_text("You are signed out", timeout=DEADLINE_MS)
            page.screenshot(path=str(SCREENSHOTS / "store-signed-out.png"))
        finally:
            browser.close()
    assert run(["db", "current"], env).returncode == 0

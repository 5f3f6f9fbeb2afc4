"""A served store app for browser tests: `fulfil serve` on the demo network with an HTTP reader at Lyon Part-Dieu
(antenna 1 its receiving dock, antenna 2 its pack station), staff PINs, tagged products received by RFID through the
real ingest path, and Chromium at a handheld's size."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from fulfil.demo import DEMO_COMPANY_PREFIX
from rfid.epc import encode_sgtin96
from rfid.epc.gs1 import gtin_check_digit
from tests.ingest.conftest import impinj
from tests.service.test_api_docs import CHROMIUM, CHROMIUM_ARGS
from tests.service.test_cli import run, seeded_token, serving
from tests.waiting import wait_for

STORE = "ST-LYON-01"
OTHER_STORE = "ST-PARIS-01"  # Paris Rivoli: where a Lyon customer brings an item back
READER = "handheld-test-lyon"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
HANDHELD = {"viewport": {"width": 360, "height": 640}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}
DEADLINE_MS = 15_000
LYON = {"name": "Camille Martin", "address_lines": ["12 rue de la République"], "city": "Lyon", "postcode": "69002", "country": "FR",
        "lat": 45.7597, "lon": 4.8357}

READERS_TOML = f"""
hold_off_ms = 0
move_margin_db = 0
[zones.receiving]
arrival_reads = 1
arrival_ms = 0
[zones.pack-station-1]
arrival_reads = 1
arrival_ms = 0
[[readers]]
id = "{READER}"
location = "{STORE}"
transport = "http"
format = "auto"
[readers.antennas]
1 = "receiving"
2 = "pack-station-1"
"""


@dataclass
class Product:
    gtin: str
    name: str
    epcs: list[str] = field(default_factory=list)


@dataclass
class StoreApp:
    base: str
    ops: dict[str, str]
    device: dict[str, str]
    pins: dict[str, tuple[str, str]]  # staff name -> (store, PIN)
    browser: Any
    made: int = 0

    def api(self, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return httpx.request(method, f"{self.base}/api/v1{path}", headers={**self.ops, **(headers or {})}, timeout=10, **kw)

    def product(self, name: str, tags: int, *, aisle: str = "B", bay: str = "4", shelf: str = "2", size: str = "M", colour: str = "navy") -> Product:
        """A product new to the catalog with `tags` tagged units received at Lyon by its RFID reader."""
        self.made += 1
        body = "0" + DEMO_COMPANY_PREFIX + f"{90000 + self.made:05d}"
        gtin = body + str(gtin_check_digit(body))
        made = self.api("POST", "/products", json={"gtin": gtin, "name": name, "company_prefix_length": len(DEMO_COMPANY_PREFIX),
                                                     "aisle": aisle, "bay": bay, "shelf": shelf, "size": size, "colour": colour})
        assert made.status_code == 201, made.text
        product = Product(gtin, name, [encode_sgtin96(gtin, 700_000 + self.made * 100 + k, len(DEMO_COMPANY_PREFIX)) for k in range(tags)])
        self.read(product.epcs, antenna=1)
        wait_for(lambda: self.on_hand(gtin) == tags, f"{tags} × {name} received at {STORE}")
        return product

    def on_hand(self, gtin: str, location: str = STORE) -> int:
        response = self.api("GET", f"/stock/{location}/{gtin}")
        return int(response.json()["on_hand"]) if response.status_code == 200 else 0

    def read(self, epcs: list[str], *, antenna: int) -> None:
        """The reader sees these tags (twice, as a reader reads continuously) on an antenna."""
        for _ in range(2):
            for epc in epcs:
                payload = impinj(epc, antenna, rssi_cdbm=-6000 if antenna == 1 else -3000)
                sent = httpx.post(f"{self.base}/api/v1/ingest/payloads", params={"reader": READER}, headers=self.device, content=payload, timeout=10)
                assert sent.status_code == 200 and not sent.json().get("rejected"), sent.text

    def order(self, lines: list[tuple[Product, int]], prices: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
        """A web order for home delivery in Lyon, routed to the Lyon store (the only one with these products)."""
        body = {"external_id": f"WEB-{uuid.uuid4().hex[:8]}", "channel": "web", **extra,
                "lines": [{"gtin": p.gtin, "qty": q, **({"unit_price": prices[p.gtin]} if prices else {})} for p, q in lines]}
        if "pickup_location_id" not in extra:
            body["ship_to"] = LYON
        made = self.api("POST", "/orders", json=body)
        assert made.status_code == 201, made.text
        order: dict[str, Any] = made.json()
        assert [s["location_id"] for s in order["shipments"]] == [STORE], order
        return order

    def shipment(self, shipment_id: int) -> dict[str, Any]:
        response = self.api("GET", f"/shipments/{shipment_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def handheld(self, locale: str = "fr-FR") -> Any:
        """A new handheld: its own browser context (cookies, storage), French by default as the demo's staff."""
        return self.browser.new_context(locale=locale, **HANDHELD).new_page()

    def sign_in(self, page: Any, who: str) -> None:
        from playwright.sync_api import expect

        store, pin = self.pins[who]
        page.goto(f"{self.base}/store")
        page.get_by_label("Magasin").select_option(value=store)
        page.get_by_label("Votre code PIN").fill(pin)
        page.get_by_role("button", name="Connexion").tap()
        expect(page.get_by_role("heading", name="Tâches")).to_be_visible(timeout=DEADLINE_MS)


# What a thumb must hit: buttons, fields, choices, disclosure summaries and the links that stand alone as actions (an
# inline link in a sentence is exempt, as WCAG 2.5.8 allows). A radio button counts by its label, which is the target.
TARGETS = """() => [...document.querySelectorAll(
    'button, select, input:not([type=hidden]):not([type=radio]):not([type=checkbox]), textarea, summary, label.choice, ' +
    'a.open, a.back, a.tile, a.task')]
  .filter((e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .map((e) => { const r = e.getBoundingClientRect(); return [e.tagName + ' ' + (e.getAttribute('aria-label') || e.textContent.trim()).slice(0, 40), r.width, r.height]; })
  .filter(([, w, h]) => w < 44 || h < 44)"""


def screenshot(page: Any, name: str, *, targets: bool = True) -> None:
    """The page as the test saw it, in var/screenshots/; and every touch target on it 44 × 44 CSS px at least (a
    printable page, such as a label, has none to check)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    if targets:
        small = page.evaluate(TARGETS)
        assert small == [], f"touch targets under 44 px on {name}: {small}"


@contextmanager
def store_app(env: dict[str, str], tmp_path: Path) -> Iterator[StoreApp]:
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    readers = tmp_path / "readers.toml"
    readers.write_text(READERS_TOML)
    env = {**env, "FULFIL_READERS_CONFIG": str(readers), "FULFIL_ROUTING_BATCH_INTERVAL_SECONDS": "0"}
    ops = {"Authorization": f"Bearer {seeded_token(env)}"}
    device = run(["token", "create", "--role", "device", "--store", STORE, "--name", "pack-reader"], env)
    assert device.returncode == 0, device.stderr
    pins = {"Léa": (STORE, "482916"), "Marc": (STORE, "739155"), "Inès": (OTHER_STORE, "615204")}
    with serving(env, drain=True) as (base, _proc), sync_playwright() as pw:
        for name, (store, pin) in pins.items():
            made = httpx.post(f"{base}/api/v1/staff", headers=ops, json={"location_id": store, "name": name, "pin": pin})
            assert made.status_code == 201, made.text
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield StoreApp(base, ops, {"Authorization": f"Bearer {device.stdout.strip()}"}, pins, browser)
        finally:
            browser.close()

"""/docs and /redoc work offline: only local URLs, assets served from the package, Swagger UI renders in Chromium."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from fulfil.api_docs import VENDOR_DIR, VENDOR_URL
from tests.service.test_cli import run, serving

REPO = Path(__file__).resolve().parents[2]
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Chromium: Debian's package (`apt-get install chromium`), driven by Playwright; CI installs it.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
RENDER_DEADLINE_MS = 30_000
# ReDoc's sidebar credit loads Redocly's logo from their CDN and hides it when that fails: the one
# request off the machine the pages make, cosmetic, refused below like any other.
REDOC_CREDIT_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def referenced_urls(html: str) -> list[str]:
    """Every src/href attribute, and the spec URL each page's script is given."""
    urls = re.findall(r'(?:src|href|spec-url)="([^"]*)"', html)
    urls += re.findall(r"url: '([^']*)'", html)
    return urls


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_page_references_only_assets_the_app_serves(client: TestClient, page: str) -> None:
    response = client.get(page)  # public, like /openapi.json: no token
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "://" not in html, "the page must not name another host (no CDN, no web fonts, no favicon from elsewhere)"
    urls = referenced_urls(html)
    assert "/openapi.json" in urls
    assets = [u for u in urls if u != "/openapi.json"]
    assert assets and all(u.startswith(VENDOR_URL + "/") for u in assets), urls
    for url in assets:
        served = client.get(url)
        assert served.status_code == 200, url
        assert served.headers["content-type"].startswith(CONTENT_TYPES[Path(url).suffix]), (url, served.headers["content-type"])
        assert served.content == (VENDOR_DIR / url.removeprefix(VENDOR_URL + "/")).read_bytes()


def test_swagger_ui_turns_off_its_online_validator(client: TestClient) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


def test_vendored_files_carry_their_licence_and_are_package_data() -> None:
    for folder in ("swagger-ui", "redoc"):
        assert (VENDOR_DIR / folder / "LICENSE").is_file()
    readme = (VENDOR_DIR / "README.md").read_text()
    assert "swagger-ui-dist" in readme and "5.35.0" in readme and "redoc" in readme and "2.5.2" in readme
    # setuptools globs each package-data pattern from the package folder: every vendored file must be matched.
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["fulfil"]
    package = REPO / "fulfil"
    shipped = {path for pattern in patterns for path in package.glob(pattern) if path.is_file()}
    vendored = {path for path in VENDOR_DIR.rglob("*") if path.is_file()}
    assert vendored and vendored <= shipped, sorted(str(p) for p in vendored - shipped)


def test_missing_vendored_file_is_a_404_not_a_500(client: TestClient) -> None:
    response = client.get(f"{VENDOR_URL}/swagger-ui/nothing.js")
    assert response.status_code == 404
    assert client.get(f"{VENDOR_URL}/../../app.py").status_code == 404


def test_docs_render_offline_in_chromium(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811 (fixture)
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import Route, sync_playwright

    assert run(["db", "upgrade"], env).returncode == 0
    refused: list[str] = []

    def only_this_machine(route: Route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOOPBACK:
            route.continue_()
        else:
            refused.append(url)
            route.abort()

    with serving(env) as (base, _proc), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", only_this_machine)
            page.goto(f"{base}/docs")
            page.wait_for_selector(".opblock-summary-path", timeout=RENDER_DEADLINE_MS)  # Swagger UI rendered the spec
            paths = set(page.locator(".opblock-summary-path").all_inner_texts())
            assert {"/api/v1/orders", "/api/v1/stock", "/api/v1/routing/instance"} <= {p.strip().replace("\u200b", "") for p in paths}
            assert page.locator(".information-container .title").inner_text().startswith("Fulfil")
            page.screenshot(path=str(tmp_path / "docs.png"))
            assert refused == [], f"/docs asked for something off this machine: {refused}"

            page.goto(f"{base}/redoc")
            page.wait_for_selector("[data-section-id^='tag/']", timeout=RENDER_DEADLINE_MS)  # ReDoc rendered the spec
            assert page.get_by_text("/api/v1/orders/{order_id}/routing").count() >= 1
            page.screenshot(path=str(tmp_path / "redoc.png"))
        finally:
            browser.close()
    assert set(refused) <= {REDOC_CREDIT_LOGO}, f"/redoc asked for something off this machine: {refused}"

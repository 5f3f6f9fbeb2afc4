"""The API documentation pages, /docs (Swagger UI) and /redoc (ReDoc), working without internet.

FastAPI's own pages load their scripts from a public CDN and are blank offline; these are the same
pages with the scripts vendored in `fulfil/web/static/vendor/` (versions and licences in its README).
Like /openapi.json they are public: they describe the API and hold no data.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

VENDOR_DIR = Path(__file__).resolve().parent / "web" / "static" / "vendor"
VENDOR_URL = "/static/vendor"


def add_api_docs(app: FastAPI) -> None:
    """Serve /docs and /redoc from the vendored assets (the app is created with docs_url=None, redoc_url=None)."""
    assert app.openapi_url is not None
    openapi_url = app.openapi_url
    app.mount(VENDOR_URL, StaticFiles(directory=VENDOR_DIR), name="vendor")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{VENDOR_URL}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{VENDOR_URL}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{root}{VENDOR_URL}/swagger-ui/favicon-32x32.png",
            # No online validator badge: it would fetch an image from validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None, **(app.swagger_ui_parameters or {})},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{VENDOR_URL}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{root}{VENDOR_URL}/swagger-ui/favicon-32x32.png",
            with_google_fonts=False,
        )

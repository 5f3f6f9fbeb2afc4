"""Rendering the pages' templates (the store app's, the ops console's) in the reader's language."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from fulfil.pages import i18n


@cache
def _environment(templates: Path, lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(templates), autoescape=select_autoescape(["html"]), extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def render(request: Request, templates: Path, static: str, lang: str, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """`template` of the `templates` directory in `lang`, never cached by the browser (pages show live work)."""
    html = _environment(templates, lang).get_template(template).render(lang=lang, static=static, path=request.url.path, **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

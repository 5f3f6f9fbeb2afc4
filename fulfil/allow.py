"""The `Allow` header of a 405: every method the path answers, not only those of the first route that matched it."""

from __future__ import annotations

from starlette.routing import BaseRoute, Match
from starlette.types import Scope

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(routes: list[BaseRoute], scope: Scope) -> list[str]:
    """The methods some route fully matches for this request's path (routes answer HEAD with GET)."""
    allowed = []
    for method in METHODS:
        probe = {**scope, "type": "http", "method": method}
        if any(route.matches(probe)[0] == Match.FULL for route in routes):
            allowed.append(method)
    return allowed

"""Errors of the routing library; each names the offending field by its JSON path."""

from __future__ import annotations


class RoutingError(Exception):
    """Base class of every error the routing library raises on purpose."""


class InvalidDocument(RoutingError, ValueError):
    """A JSON document does not follow its format; `field` is the path of the bad field."""

    kind = "document"

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"invalid {self.kind}: {field}: {message}" if field else f"invalid {self.kind}: {message}")


class InvalidInstance(InvalidDocument):
    """A routing instance that does not follow fulfil.routing-instance/1."""

    kind = "instance"


class InvalidPlan(InvalidDocument):
    """A routing plan that does not follow fulfil.routing-plan/1."""

    kind = "plan"


class UnknownOrder(RoutingError, KeyError):
    """An order id the routing state or instance does not know."""

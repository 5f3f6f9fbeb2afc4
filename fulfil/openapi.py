"""The OpenAPI document says what the service really answers: every route's error statuses in the service's
own shape `{"error": {"code", "message", "details"}}`, added centrally from what each route is.

Rules, per operation (`document_errors`):
- it needs a token (FastAPI lists the bearer scheme in its `security`): 401, with `WWW-Authenticate`;
- its bearer requirement lists roles (`fulfil.deps.require` puts them there as security scopes): 403;
- it has path parameters: 404 (they name records);
- it has a body: 400 (a body that cannot be read), 413 (too large), 422;
- it has any parameter or a body: 422, as `InvalidRequest` (each bad field named), replacing FastAPI's
  `HTTPValidationError`;
- request strings without a pattern of their own get one refusing the NUL character (as the service does);
- anything more a route can answer (409 on a conflict, 404 for a record its body names) it declares itself
  with `responses=errors(409, 404)`; the document gives those the `Error` schema too.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

DESCRIPTIONS: dict[int, str] = {
    400: "The request could not be read (e.g. a body that is not decodable).",
    401: "No bearer token, or an invalid or revoked one.",
    403: "The token's role or location scope does not allow this.",
    404: "A record the request names does not exist (or is outside the token's scope).",
    409: "Conflicts with the current state (a duplicate, a status that does not allow it, not enough stock).",
    410: "Gone: what the request refers to can no longer be served (e.g. a feed cursor handed out under other settings).",
    413: "The request body is too large.",
    422: "Invalid input: each bad field is named in `details`.",
    428: "A header this request needs is missing (e.g. Idempotency-Key), named in `details`.",
    429: "Too many failed attempts from this client: try again after `Retry-After` seconds.",
}

REF = "#/components/schemas/{model}"


class ErrorBody(BaseModel):
    model_config = ConfigDict(title="ErrorBody")

    code: str = Field(description="Stable machine-readable code, e.g. not_found, insufficient_stock.")
    message: str = Field(description="What went wrong, for a person.")
    details: Any = Field(description="Structured context: ids, fields, allowed values; null when there is none.")
    request_id: str | None = Field(default=None, description="The request's id (also in the X-Request-ID header): quote it when reporting a problem.")


class Error(BaseModel):
    """Every error the service answers on purpose."""

    error: ErrorBody


class FieldError(BaseModel):
    field: str = Field(description="Where: `body.lines.0.qty`, `query.limit`, `path.order_id`.")
    message: str
    type: str | None = Field(default=None, description="The kind of failure, e.g. missing, int_parsing.")


class InvalidRequestBody(BaseModel):
    code: str
    message: str
    details: list[FieldError]
    request_id: str | None = None


class InvalidRequest(BaseModel):
    """422: the request does not satisfy the schema or a rule on its fields."""

    error: InvalidRequestBody


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route decorator: the error statuses this route answers beyond the central rules."""
    return {status: {"description": DESCRIPTIONS[status]} for status in statuses}


def replayable(model: type[Any], *statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a POST that is retry-safe by Idempotency-Key: 200 when the key was applied before (with the
    route's model), and the error statuses it answers beyond the central rules."""
    replay = {"model": model, "description": "This Idempotency-Key was applied before: nothing changed now (`replayed`)."}
    return {200: replay, **errors(*statuses)}


def install(app: FastAPI) -> None:
    """Make `app.openapi()` (and /openapi.json, /docs) return the document with the real responses."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, openapi_version=app.openapi_version, description=app.description, routes=app.routes
            )
            document_errors(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_errors(document: dict[str, Any]) -> None:
    """Add the error responses of every operation (see the module docstring), and the schemas they use."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (Error, InvalidRequest):
        definition = model.model_json_schema(ref_template=REF)
        schemas.update(definition.pop("$defs", {}))
        schemas[model.__name__] = definition
    requests: list[Any] = []
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method in HTTP_METHODS:
                _document_operation(operation)
                requests.extend(parameter.get("schema") for parameter in operation.get("parameters", []))
                requests.append(operation.get("requestBody"))
    for node in requests:
        _no_nul_in_strings(node)
    for name in _referenced(requests, schemas):
        _no_nul_in_strings(schemas[name])
    for unused in ("HTTPValidationError", "ValidationError"):
        if not _mentions(document, REF.format(model=unused)):
            schemas.pop(unused, None)


# Text sent to the service never carries a NUL character (PostgreSQL cannot hold one; fulfil.api_types refuses
# it): request strings without a pattern of their own say so, so a schema-valid request is never refused for it.
# Responses are left alone: an error may quote what was sent, NUL included.
NO_NUL_PATTERN = "^[^\\u0000]*$"


def _referenced(nodes: list[Any], schemas: dict[str, Any]) -> set[str]:
    """Names of the component schemas the nodes use, directly or through other components."""
    seen: set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in seen and name in schemas:
                    seen.add(name)
                    stack.append(schemas[name])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return seen


def _no_nul_in_strings(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string" and not {"pattern", "enum", "const", "format"} & node.keys():
            node["pattern"] = NO_NUL_PATTERN
        for value in node.values():
            _no_nul_in_strings(value)
    elif isinstance(node, list):
        for value in node:
            _no_nul_in_strings(value)


HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def statuses_of(operation: dict[str, Any]) -> set[int]:
    """The error statuses the central rules give an operation."""
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    security = operation.get("security", [])
    out: set[int] = set()
    if security:
        out.add(401)
    if any(roles for requirement in security for roles in requirement.values()):
        out.add(403)
    if any(p.get("in") == "path" for p in parameters):
        out.add(404)
    if has_body:
        out |= {400, 413}
    if parameters or has_body:
        out.add(422)
    return out


def _document_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    declared = {int(code) for code in responses if code.isdigit() and 400 <= int(code) < 500}
    for status in sorted(statuses_of(operation) | declared):
        response = responses.setdefault(str(status), {})
        if status == 422 or not response.get("description"):
            response["description"] = DESCRIPTIONS[status]
        model = InvalidRequest if status == 422 else Error
        response["content"] = {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}}
        if status == 401:
            response["headers"] = {
                "WWW-Authenticate": {"description": "`Bearer`: how to authenticate.", "required": True, "schema": {"type": "string"}}
            }
        if status == 429:
            response["headers"] = {
                "Retry-After": {"description": "Seconds to wait before trying again.", "required": True, "schema": {"type": "integer", "minimum": 1}}
            }
    operation["responses"] = dict(sorted(responses.items()))


def _mentions(node: Any, ref: str) -> bool:
    if isinstance(node, dict):
        return node.get("$ref") == ref or any(_mentions(v, ref) for v in node.values())
    if isinstance(node, list):
        return any(_mentions(v, ref) for v in node)
    return False

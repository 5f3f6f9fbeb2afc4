"""What every API input is built from, so that no request can carry an unbounded value into the service.

- integers: ids and counters within the databases' 64-bit range (SQLite raises OverflowError beyond it);
- floats: finite (JSON `Infinity`/`NaN` are refused) and within the field's range;
- text and lists: a maximum on each field (and `str_max_length` on every request model as a backstop);
- free-form JSON (an address, opening hours): a bounded depth, width and size (stored as JSON, where a NUL
  character is an escape like any other);
- text: no NUL character (PostgreSQL cannot store one in a text column);
- PATCH bodies: a field left out is kept, an explicit `null` is refused unless the field may be cleared.

A test walks the OpenAPI document and fails on any integer, number, string, array or object without its bounds.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, get_args

from fastapi import Header, Path, Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

MAX_INT64 = 2**63 - 1
# A record id that can exist (the tables' 32-bit keys on PostgreSQL): anything else names nothing (the error
# handler answers 404 for such path ids). Stock events have 64-bit ids (MAX_EVENT_ID).
MAX_ID = 2**31 - 1
MAX_EVENT_ID = MAX_INT64
# The longest string any request field may carry, unless the field says less.
MAX_TEXT = 2_000

# Free-form JSON objects (addresses, opening hours): as deep as anyone needs, never deep enough to hurt.
FREE_JSON_MAX_DEPTH = 6
FREE_JSON_MAX_ITEMS = 200  # keys and list items, in all
FREE_JSON_MAX_BYTES = 16_384


def no_nul(value: str) -> str:
    """Text may not carry a NUL character: PostgreSQL cannot store one, and no client means one."""
    if "\x00" in value:
        raise ValueError("may not contain a NUL character")
    return value


class BoundedModel(BaseModel):
    """Unknown fields, non-finite numbers, over-long strings and NUL characters are refused. The base of request
    bodies that are members of a discriminated union (whose tag field may carry no before-validator); others use
    RequestModel."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=MAX_TEXT)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str):
            no_nul(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, str):
                    no_nul(item)
        return value


class RequestModel(BoundedModel):
    """Base of every request body: bounded (BoundedModel), and a value is taken as the type the schema says, not
    coerced: `true` is no number, `0` or `"yes"` no boolean."""

    @field_validator("*", mode="before")
    @classmethod
    def _as_the_schema_says(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name is None or value is None:
            return value
        annotation = cls.model_fields[info.field_name].annotation
        types = set(get_args(annotation)) or {annotation}
        if bool in types and not isinstance(value, bool):
            raise ValueError("must be true or false")
        if bool not in types and types & {int, float} and isinstance(value, bool):
            raise ValueError("must be a number, not true or false")
        return value


def _null_only_where_allowed(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The JSON schema of a PatchModel: `null` appears only on the fields that may be cleared."""
    nullable: frozenset[str] = getattr(model, "NULLABLE", frozenset())
    for name, prop in schema.get("properties", {}).items():
        if name not in nullable and "anyOf" in prop:
            kept = [option for option in prop["anyOf"] if option != {"type": "null"}]
            del prop["anyOf"]
            if len(kept) == 1:
                prop.update(kept[0])
            else:
                prop["anyOf"] = kept
            if prop.get("default", 0) is None:
                del prop["default"]


class PatchModel(RequestModel):
    """A partial update: only the fields sent change. `null` is refused (naming the field) for fields that cannot be
    empty; the fields listed in NULLABLE may be cleared with `null`. Declare fields as `X | None = None`."""

    model_config = ConfigDict(json_schema_extra=_null_only_where_allowed)

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _no_null_for_required(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.NULLABLE:
            raise ValueError("may not be null: leave the field out to keep its value")
        return value


def _bounded_json(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Refuse free-form JSON that is too deep, too wide or too large (checked without recursion)."""
    if value is None:
        return None
    items = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > FREE_JSON_MAX_DEPTH:
                raise ValueError(f"nested more than {FREE_JSON_MAX_DEPTH} levels deep")
            children = list(node.values()) if isinstance(node, dict) else node
            items += len(children)
            if items > FREE_JSON_MAX_ITEMS:
                raise ValueError(f"more than {FREE_JSON_MAX_ITEMS} keys and items in all")
            stack.extend((child, depth + 1) for child in children)
    if len(json.dumps(value, separators=(",", ":"))) > FREE_JSON_MAX_BYTES:
        raise ValueError(f"larger than {FREE_JSON_MAX_BYTES} bytes as JSON")
    return value


FreeJson = Annotated[
    dict[str, Any],
    AfterValidator(_bounded_json),
    Field(
        description=f"Free-form JSON object: at most {FREE_JSON_MAX_DEPTH} levels deep, {FREE_JSON_MAX_ITEMS} keys and items, "
        f"{FREE_JSON_MAX_BYTES} bytes.",
        json_schema_extra={"maxProperties": FREE_JSON_MAX_ITEMS},
    ),
]

# Path and query parameters.
LocationIdPath = Annotated[str, Path(min_length=1, max_length=64, description="A location code, e.g. ST-LYON-01.")]
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="A record id (1 .. 2^31-1).")]
OptionalRecordId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Records to skip (paging).")]

# The Idempotency-Key header of retry-safe writes: printable ASCII (it is stored, and quoted in errors).
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7E]+$"
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=128, pattern=IDEMPOTENCY_KEY_PATTERN,
           description="Retry-safe key (printable ASCII): the same key never applies twice; reused for another body, 409."),
]
RequiredIdempotencyKey = Annotated[
    str,
    Header(alias="Idempotency-Key", min_length=1, max_length=128, pattern=IDEMPOTENCY_KEY_PATTERN,
           description="Required retry-safe key (printable ASCII): a retry with the same key and body answers what the first "
           "call did and changes nothing; the key reused for another body is 409."),
]


def _written_out(value: object) -> object:
    """A date or time in a query is written out (2026-12-06, 2026-12-06T10:00:00Z), never a bare number (which the
    parser would take for seconds since 1970)."""
    if isinstance(value, str) and not re.match(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("write it as an ISO 8601 date (2026-12-06) or time (2026-12-06T10:00:00Z)")
    return value


QueryDate = Annotated[date, BeforeValidator(_written_out)]
QueryDateTime = Annotated[datetime, BeforeValidator(_written_out)]

"""API shapes of products, and the GTIN type every API schema uses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from fulfil.api_types import PatchModel, RequestModel
from rfid.epc.gs1 import normalise_gtin
from rfid.epc.model import EpcError


# The accepted lengths are the pattern; the GS1 check digit is the validator (and `format: gtin` says so).
GTIN_PATTERN = r"^(?:[0-9]{8}|[0-9]{12,14})$"


def _gtin(value: str) -> str:
    try:
        return normalise_gtin(value)
    except EpcError as exc:
        raise ValueError(str(exc)) from None


Gtin = Annotated[
    str,
    Field(
        pattern=GTIN_PATTERN,
        examples=["08712345678906"],
        description="GTIN-8/12/13/14 with a valid GS1 check digit; stored as GTIN-14.",
        json_schema_extra={"format": "gtin"},
    ),
    AfterValidator(_gtin),
]


class ProductCreate(RequestModel):
    gtin: Gtin
    name: str = Field(min_length=1, max_length=300)
    company_prefix_length: int | None = Field(default=None, ge=6, le=12, description="Digits of the GS1 company prefix, to encode SGTINs.")
    aisle: str | None = Field(default=None, max_length=16)
    bay: str | None = Field(default=None, max_length=16)
    shelf: str | None = Field(default=None, max_length=16)
    size: str | None = Field(default=None, max_length=32, description="Shown on the pick list, e.g. 42 or M.")
    colour: str | None = Field(default=None, max_length=32, description="Shown on the pick list, e.g. navy.")


class ProductUpdate(PatchModel):
    NULLABLE = frozenset({"company_prefix_length", "aisle", "bay", "shelf", "size", "colour"})

    name: str | None = Field(default=None, min_length=1, max_length=300)
    company_prefix_length: int | None = Field(default=None, ge=6, le=12)
    aisle: str | None = Field(default=None, max_length=16)
    bay: str | None = Field(default=None, max_length=16)
    shelf: str | None = Field(default=None, max_length=16)
    size: str | None = Field(default=None, max_length=32)
    colour: str | None = Field(default=None, max_length=32)


class ProductRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    gtin: str
    name: str
    company_prefix_length: int | None
    aisle: str | None
    bay: str | None
    shelf: str | None
    size: str | None = None
    colour: str | None = None
    created_at: datetime
    updated_at: datetime

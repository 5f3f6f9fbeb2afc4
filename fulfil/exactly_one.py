"""Exactly one of a group of fields: one rule, enforced on validation and written into the JSON schema as `oneOf`."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


class ExactlyOneOf(BaseModel):
    """A model in which exactly one of the fields named by `exactly_one_of` is given (present and not null).

    The schema says it with `oneOf`: one branch per field, requiring it not null and the others null or
    absent, so a client (or a fuzzer) can see the rule the validator applies."""

    exactly_one_of: ClassVar[tuple[str, ...]] = ()
    exactly_one_message: ClassVar[str] = ""

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [name for name in self.exactly_one_of if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(self.exactly_one_message or f"give exactly one of {', '.join(self.exactly_one_of)}")
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        target["oneOf"] = [one_of_branch(name, cls.exactly_one_of) for name in cls.exactly_one_of]
        return schema


def one_of_branch(given: str, group: tuple[str, ...]) -> dict[str, Any]:
    """The `oneOf` branch in which `given` is the one field of `group` with a value."""
    return {
        "required": [given],
        "properties": {name: ({"not": {"type": "null"}} if name == given else {"type": "null"}) for name in group},
    }

"""Types shared by the API's endpoints: bounded integers (a number the database cannot hold is a
400, not a 500) and the error shape as the OpenAPI schema declares it."""

from __future__ import annotations

from typing import Annotated

from ninja import Field, Schema

INT64_MAX = 2**63 - 1

# an id (path or query): what a 64-bit primary key can be
Id = Annotated[int, Field(ge=1, le=INT64_MAX)]
# an attempt number, a count: the same range, 0 and up
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]
# the same in a JSON body, where a number must be a number (not `true` or "3")
BodyId = Annotated[int, Field(ge=1, le=INT64_MAX, strict=True)]
BodyCount = Annotated[int, Field(ge=0, le=INT64_MAX, strict=True)]


class ErrorDetail(Schema):
    code: str = Field(..., description="a stable, machine-readable name, e.g. `not_found`")
    message: str
    field: str | None = Field(None, description="the parameter or form field at fault")


class ErrorOut(Schema):
    """Every refusal: a 4xx status with this body."""

    error: ErrorDetail


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The error responses an endpoint declares, e.g. ``response={200: dict, **errors(401, 404)}``."""
    return dict.fromkeys(statuses, ErrorOut)

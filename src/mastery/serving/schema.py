"""Request and response schemas built from a model's contract, and 4xx answers that name the
offending field.

The request schema is a pydantic model, so pydantic checks shape (list lengths), dtype
(strict numbers), finiteness and value range before the model runs, each failure is
reported at its path (`image[0][0][3][5]`), and `/docs` shows the typed schema.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, Field, Strict, create_model

from mastery.export.contract import Contract, TensorSpec
from mastery.modalities import RawInput

MAX_ERRORS = 10  # reported per response; the count says how many there were
_ELEMENTS = {"float32": float, "float64": float, "int32": int, "int64": int, "bool": bool}


def request_model(contract: Contract, max_batch: int, raw: RawInput | None = None) -> type[BaseModel]:
    """`PredictRequest`: the modality's raw field where it has one (texts), else one field per
    model input, a nested list per its shape."""
    if raw is not None:
        fields = {raw.name: (raw.field(max_batch), ...)}
    else:
        fields = {spec.name: (_array(spec, max_batch), Field(description=_describe(spec))) for spec in contract.inputs}
    return create_model("PredictRequest", __config__={"extra": "forbid"}, **fields)


def response_model(item: type[BaseModel]) -> type[BaseModel]:
    return create_model(
        "PredictResponse",
        request_id=(str, Field(description="Quote it to `mastery lineage --request`")),
        model=(str, Field(description="Registered model name")),
        version=(str, Field(description="The model version that answered")),
        predictions=(list[item], ...),
    )


class FieldError(BaseModel):
    field: str = Field(description='Where, e.g. "image[0][0][3][5]"; "body" for the body itself')
    message: str
    type: str = Field(description="The check that failed (pydantic's error type)")


class ErrorBody(BaseModel):
    detail: list[FieldError] = Field(description=f"The first {MAX_ERRORS} problems")
    errors: int = Field(description="How many problems there were")


def parse_request(model: type[BaseModel], content_type: str | None, body: bytes) -> BaseModel:
    """Validate a JSON body against the request schema.

    pydantic parses the bytes itself (Rust): several times faster than FastAPI's `json.loads`
    then validate on a 28x28 image, and a malformed body gets a line and column.
    """
    from fastapi import HTTPException
    from fastapi.exceptions import RequestValidationError
    from pydantic import ValidationError

    if content_type is not None and content_type.split(";")[0].strip().lower() != "application/json":
        raise HTTPException(415, f"send JSON with Content-Type: application/json, not {content_type}")
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_input=False, include_url=False)]
        raise RequestValidationError(errors) from None


def openapi_body(model: type[BaseModel]) -> dict:
    """The request schema for `/docs`, as FastAPI would write it for a typed body parameter."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


def to_arrays(contract: Contract, request: BaseModel, raw: RawInput | None = None) -> dict[str, np.ndarray]:
    """The request's inputs as arrays of the contract's dtypes, or its raw values made into them.

    Raises `InputError` for what the schema cannot express: ragged symbolic dimensions, inputs
    whose batch sizes differ, raw values the modality refuses (a blank text).
    """
    if raw is not None:
        values = getattr(request, raw.name)
        for index, problem in raw.problems(values)[:1]:
            raise InputError(f"{raw.name}[{index}]", problem)
        return raw.encode(values)
    arrays = {}
    for spec in contract.inputs:
        try:
            arrays[spec.name] = np.asarray(getattr(request, spec.name), dtype=spec.dtype)
        except ValueError:
            raise InputError(spec.name, "rows of one dimension must all have the same length") from None
    sizes = {name: len(a) for name, a in arrays.items()}
    if len(set(sizes.values())) > 1:
        raise InputError(next(iter(sizes)), f"inputs hold different batch sizes: {sizes}")
    return arrays


class InputError(ValueError):
    """A request the schema let through but the model cannot take; answered with 422."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def error_body(errors: list[dict[str, Any]]) -> dict:
    """FastAPI's validation errors as `{field, message, type}`, never echoing the input (a NaN
    would make the answer invalid JSON, and a batch can be megabytes)."""
    shown = [{"field": field_path(e["loc"]), "message": e["msg"], "type": e["type"]} for e in errors[:MAX_ERRORS]]
    return {"detail": shown, "errors": len(errors)}


def field_path(loc: tuple | list) -> str:
    """("body", "image", 0, 3) -> "image[0][3]"; the body itself is "body"."""
    parts = list(loc[1:] if loc and loc[0] == "body" else loc)
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def _array(spec: TensorSpec, max_batch: int):
    """Nested lists, innermost first: strict numbers in range, then one list per dimension.

    The leading (batch) dimension holds 1..max_batch examples; a fixed dimension exactly its
    size; another symbolic one at least its smallest size (the body limit bounds it).
    """
    element = _ELEMENTS[spec.dtype]
    # Strict numbers still take JSON integers (0 and 1 are pixels too); bools and strings fail.
    constraints = Field(ge=spec.min, le=spec.max, allow_inf_nan=False) if element is float else Field(ge=spec.min, le=spec.max)
    kind: Any = Annotated[element, Strict(), constraints]
    for position, dim in reversed(list(enumerate(spec.shape))):
        if position == 0:
            kind = Annotated[list[kind], Field(min_length=1, max_length=max_batch)]
        elif isinstance(dim, int):
            kind = Annotated[list[kind], Field(min_length=dim, max_length=dim)]
        else:
            kind = Annotated[list[kind], Field(min_length=spec.smallest(dim))]
    return kind


def _describe(spec: TensorSpec) -> str:
    shape = " x ".join(f"{d} (at least {spec.smallest(d)})" if d in (spec.min_sizes or {}) else str(d) for d in spec.shape)
    bounds = f", values in [{spec.min}, {spec.max}]" if spec.min is not None or spec.max is not None else ""
    return f"{spec.dtype}, shape ({shape}) as nested lists{bounds}"

"""The serving contract: what a server must know about a model, written by export into the
ONNX file's metadata (`mastery.contract`, JSON) and read back by the server.

A server builds its request schema, input checks and postprocessing from this alone, so a
new track's model serves without server changes. Shape entries that are strings name a
symbolic (dynamic) dimension, e.g. `"batch"`, and `min_sizes` the fewest elements one takes
(a forecaster reads at least a week of history); `min`/`max` bound the values of an input;
`classes` exist only for classifiers; `profile` names the modality whose per-sample profile
(`mastery.modalities`) the prediction log records; `tokenizer`, for models of text, is the
tokenizer they were trained with (`tokenizers.Tokenizer.from_str`), so a client or server
turns text into token ids as training did. The task writes it (`Task.contract`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

from mastery.errors import MasteryError

CONTRACT_KEY = "mastery.contract"
DType = Literal["float32", "float64", "int32", "int64", "bool"]


class ContractError(MasteryError):
    """A model's contract is missing or malformed: the server cannot know what to accept."""


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: DType
    shape: tuple[int | str, ...]
    min: float | None = None
    max: float | None = None
    min_sizes: dict[str, int] | None = None  # symbolic dimension -> the fewest elements it takes (default 1)

    @property
    def sample_shape(self) -> tuple[int | str, ...]:
        """The shape of one example: everything after the leading batch dimension."""
        return self.shape[1:]

    def smallest(self, dim: int | str) -> int:
        """A dimension's fixed size, or the fewest elements a symbolic one takes."""
        return dim if isinstance(dim, int) else (self.min_sizes or {}).get(dim, 1)


@dataclass(frozen=True)
class Contract:
    task: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    classes: tuple[str, ...] | None = None
    profile: str | None = None
    tokenizer: str | None = None  # text: the Hugging Face tokenizer JSON that makes `tokens` from text
    max_chars: int | None = None  # text: the longest text a request may send (validation's limit)

    def to_json(self) -> str:
        """Compact JSON; optional fields that are unset are left out."""
        return json.dumps(_without_none(asdict(self)), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Contract:
        from mastery.config.strict import ConfigError, parse

        try:
            contract = parse(cls, json.loads(text), CONTRACT_KEY)
        except (json.JSONDecodeError, ConfigError) as error:
            raise ContractError(f"{CONTRACT_KEY} is malformed: {error}") from error
        if not contract.inputs or not contract.outputs:
            raise ContractError(f"{CONTRACT_KEY}: a model needs at least one input and one output")
        return contract


def _without_none(value):
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_without_none(v) for v in value]
    return value

"""A corpus: one long text a language model learns from (textbook ch. 9), stored as its
speeches in order, one row each, so validation names the row at fault; models see windows of
one stream of character ids.

Prepare learns a character vocabulary from the training split (a character first seen in
validation or test is [UNK]) and writes each split as one stream, its rows joined by a blank
line as in Tiny Shakespeare. A split is read as consecutive windows of `context` ids
(`tokens`) and the same shifted by one (`target`): views of the stream, every token scored
once. The language-model task draws its training windows at random offsets of that stream
(`mastery.tasks.language_model`), not from these rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from mastery.config import TokenizerConfig
from mastery.data.raw import DataSourceError, RawData
from mastery.data.raw import Modality as ModalityName
from mastery.errors import MasteryError
from mastery.modalities import register_modality
from mastery.modalities.text import TOKENIZER, UNK_ID, TextDataset, Texts, train_tokenizer

SEPARATOR = "\n\n"
CHARACTERS = TokenizerConfig(model="char", min_frequency=1, lowercase=False, max_tokens=256)


@dataclass(frozen=True)
class CorpusDataset(TextDataset):
    modality: ClassVar[ModalityName] = "corpus"
    max_chars: int = 20_000  # the longest speech in the 38 plays is 3,380 characters
    max_words: int = 4_000


def encode_stream(tokenizer, text: str) -> np.ndarray:
    """The ids `tokenizer.encode(text)` gives a character tokenizer, a hundred times faster on
    megabytes: the normalised text's code points looked up in the vocabulary."""
    codes = np.frombuffer(tokenizer.normalizer.normalize_str(text).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    vocab = sorted((ord(piece), i) for piece, i in tokenizer.get_vocab().items() if len(piece) == 1)
    points, ids = (np.array(column, dtype=np.int64) for column in zip(*vocab, strict=True))
    at = np.searchsorted(points, codes).clip(max=len(points) - 1)
    return np.where(points[at] == codes, ids[at], UNK_ID).astype(np.int32)


class Corpus(Texts):
    """Texts' per-row profile and checks (a speech holds a word, decodes, is not too long);
    its own splits and tensors."""

    name = "corpus"

    def prepare(self, raw: RawData, indices: dict[str, np.ndarray], info: CorpusDataset, spec, out: Path) -> dict:
        """A character vocabulary from the training split; each split as one stream of ids."""
        config = spec.tokenizer or CHARACTERS
        if config.model != "char":
            raise MasteryError(f"pipeline '{spec.name}': a corpus is read a character at a time "
                               f"(tokenizer.model: char), not '{config.model}'")
        texts = {split: SEPARATOR.join(raw["text"][idx].tolist()) for split, idx in indices.items()}
        tokenizer = train_tokenizer(np.array([texts["train"]]), config)
        tokenizer.save(str(out / TOKENIZER))
        tokens, unknown = {}, {}
        for split, text in texts.items():
            stream = encode_stream(tokenizer, text)
            if len(stream) <= config.max_tokens:
                raise DataSourceError(f"split '{split}' holds {len(stream)} characters, fewer than one window of "
                                      f"{config.max_tokens} and its next character (tokenizer.max_tokens)")
            np.save(out / f"{split}_stream.npy", stream, allow_pickle=False)
            tokens[split], unknown[split] = len(stream), int((stream == UNK_ID).sum())
        vocab = tokenizer.get_vocab_size()
        return {"vocab_size": vocab, "context": config.max_tokens, "tokens": tokens,
                "unknown": unknown,
                "tokenizer": tokenizer.to_str(), "dims": {"vocab_size": vocab, "context": config.max_tokens}}

    def tensors(self, arrays: dict[str, np.ndarray], stats: dict) -> dict:
        """Consecutive windows of the stream, `tokens` (N, context) and `target` (the next id of
        each), both views of one tensor: the stream is held once."""
        import torch

        stream, context = torch.from_numpy(arrays["stream"]).long(), stats["context"]
        windows = (len(stream) - 1) // context
        return {"tokens": stream[: windows * context].view(windows, context),
                "target": stream[1 : windows * context + 1].view(windows, context)}

    def input_specs(self, stats: dict) -> tuple:
        """Character ids, any batch of any length up to the context the model was trained on."""
        from mastery.export.contract import TensorSpec

        return (TensorSpec("tokens", "int64", ("batch", "sequence"), min=0, max=stats["vocab_size"] - 1),)


CORPUS = register_modality(Corpus())

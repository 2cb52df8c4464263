"""Texts: (N,) strings, a label each (textbook ch. 6); models see padded token ids and lengths.

Prepare learns a tokenizer (Hugging Face `tokenizers`) from the training split only and
writes each split as token ids padded to its longest text, with each text's length. The
tokenizer is saved beside the splits (`tokenizer.json`) and in the stats, from which models
carry it (`model.json`) and export writes it into the serving contract: whoever serves the
model tokenizes as it was trained.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from mastery.config import TokenizerConfig
from mastery.data.content import content_hashes
from mastery.data.raw import Modality as ModalityName
from mastery.data.raw import RawData
from mastery.data.registry import DatasetInfo
from mastery.modalities import register_modality

PAD, UNK, MASK = "[PAD]", "[UNK]", "[MASK]"  # ids 0, 1 and 2 of a learnt vocabulary
PAD_ID, UNK_ID, MASK_ID = 0, 1, 2
TOKENIZER = "tokenizer.json"


@dataclass(frozen=True)
class TextDataset(DatasetInfo):
    modality: ClassVar[ModalityName] = "text"
    max_chars: int = 1_000  # longer is not one text (rows run together, a file read as one line)
    max_words: int = 200


def train_tokenizer(texts: np.ndarray, config: TokenizerConfig):
    """A tokenizer learnt from `texts`: NFKC (and lower case), words and punctuation split
    apart, then a BPE or whole-word vocabulary; it truncates to `max_tokens` and pads a batch
    to its longest text. A learnt subword or word vocabulary holds [MASK], what a masked
    language model hides tokens behind, so a classifier fine-tuned from one reads the same ids.
    A character vocabulary (`char`, a corpus's) neither truncates nor pads: a language model
    reads windows of a stream. A `pretrained` tokenizer is a packaged model's own (its
    vocabulary is what its weights read), or a `tokenizer.json` (a pretrained model of ours),
    cut and padded the same way.

    BPE rather than WordPiece: tokenizers 0.23's WordPiece trainer breaks ties differently
    on every run (five runs on MR, five vocabularies), and prepare must be deterministic.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    if config.pretrained:
        from mastery.packaged import pretrained_dir

        found = Path(config.pretrained)
        tokenizer = Tokenizer.from_file(str(found if found.suffix == ".json" else pretrained_dir(config.pretrained) / TOKENIZER))
        tokenizer.enable_truncation(config.max_tokens)
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id(PAD), pad_token=PAD)
        return tokenizer
    options = {"vocab_size": config.vocab_size, "min_frequency": config.min_frequency,
               "special_tokens": [PAD, UNK] if config.model == "char" else [PAD, UNK, MASK], "show_progress": False}
    if config.model == "bpe":
        tokenizer, trainer = Tokenizer(models.BPE(unk_token=UNK)), trainers.BpeTrainer(**options)
    else:
        tokenizer, trainer = Tokenizer(models.WordLevel(unk_token=UNK)), trainers.WordLevelTrainer(**options)
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), *([normalizers.Lowercase()] if config.lowercase else [])])
    if config.model == "char":  # every character a token, spaces and newlines included; decoded side by side
        tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
        tokenizer.decoder = decoders.Fuse()
        tokenizer.train_from_iterator(texts.tolist(), trainer)
        return tokenizer
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(texts.tolist(), trainer)
    tokenizer.enable_truncation(config.max_tokens)
    tokenizer.enable_padding(pad_id=PAD_ID, pad_token=PAD)
    return tokenizer


def encode(tokenizer, texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(token ids padded to the longest text, lengths). A text with no token (validation lets
    none through) becomes one [UNK]: a sequence of length 0 has no last step to classify from."""
    encodings = tokenizer.encode_batch(texts.tolist())
    ids = np.array([e.ids for e in encodings], dtype=np.int64).reshape(len(texts), -1)
    lengths = np.array([sum(e.attention_mask) for e in encodings], dtype=np.int64)
    if ids.shape[1] == 0:
        ids = np.zeros((len(texts), 1), dtype=np.int64)
    ids[lengths == 0, 0] = UNK_ID
    return ids, np.maximum(lengths, 1)


def undecodable(texts: np.ndarray) -> np.ndarray:
    """Per text, the characters that stand for bytes that were not text: U+FFFD (what a decoder
    puts for them) and lone surrogates (what `surrogateescape` keeps them as)."""
    return np.array([sum(c == "\ufffd" or "\ud800" <= c <= "\udfff" for c in text) for text in texts])


class Texts:
    name = "text"
    content = "text"

    def prepare(self, raw: RawData, indices: dict[str, np.ndarray], info: TextDataset, spec, out: Path) -> dict:
        """A tokenizer from the training split; each split as texts, token ids, lengths, labels."""
        config = spec.tokenizer or TokenizerConfig()
        tokenizer = train_tokenizer(raw["text"][indices["train"]], config)
        tokenizer.save(str(out / TOKENIZER))
        lengths = {}
        for split, idx in indices.items():
            tokens, lengths[split] = encode(tokenizer, raw["text"][idx])
            arrays = {**{name: array[idx] for name, array in raw.arrays.items()}, "tokens": tokens,
                      "lengths": lengths[split]}
            for name, array in arrays.items():
                np.save(out / f"{split}_{name}.npy", array, allow_pickle=False)
        vocab = tokenizer.get_vocab_size()
        return {"vocab_size": vocab, "max_tokens": config.max_tokens, "max_chars": info.max_chars,
                "pad_id": tokenizer.token_to_id(PAD),
                "unk_id": tokenizer.token_to_id(UNK),
                "mean_tokens": {s: round(float(n.mean()), 2) for s, n in lengths.items() if len(n)},
                "tokenizer": tokenizer.to_str(), "dims": {"vocab_size": vocab}}

    def tensors(self, arrays: dict[str, np.ndarray], stats: dict) -> dict:
        """What models take: token ids and lengths (the texts stay on disk)."""
        import torch

        return {name: torch.from_numpy(arrays[name]).long() for name in ("tokens", "lengths", "label")}

    def profile(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """Per-sample columns of texts (characters, words, undecodable characters), or of token
        ids where that is what was sent (a served request: tokens, unknown tokens); and a
        content hash either way."""
        values = np.asarray(values)
        if values.dtype.kind == "U":
            return {
                "chars": np.char.str_len(values),
                "words": np.array([len(text.split()) for text in values]),
                "undecodable": undecodable(values),
                "content_hash": content_hashes(values),
            }
        ids = values.reshape(len(values), -1)
        return {
            "tokens": (ids != PAD_ID).sum(axis=1),
            "unknown": (ids == UNK_ID).sum(axis=1),
            "content_hash": np.array([hashlib.blake2b(row[row != PAD_ID].tobytes(), digest_size=8).hexdigest()
                                      for row in ids]),
        }

    def expectations(self, info: TextDataset) -> list:
        """Every text holds a word (no empty or blank one), none is too long to be one text,
        and every character was decoded from text."""
        import great_expectations.expectations as gxe

        return [
            gxe.ExpectColumnValuesToBeBetween(column="words", min_value=1, max_value=info.max_words),
            gxe.ExpectColumnValuesToBeBetween(column="chars", max_value=info.max_chars),
            gxe.ExpectColumnValuesToBeBetween(column="undecodable", max_value=0),
        ]

    def raw_input(self, contract) -> RawTexts | None:
        """The texts themselves, where the contract carries the tokenizer."""
        if not contract.tokenizer:
            return None
        return RawTexts(load_tokenizer({"tokenizer": contract.tokenizer}), contract.max_chars or TextDataset.max_chars)

    def input_specs(self, stats: dict) -> tuple:
        """Token ids (0 pads) of a batch padded to its longest text, and each text's length."""
        from mastery.export.contract import TensorSpec

        return (TensorSpec("tokens", "int64", ("batch", "sequence"), min=0, max=stats["vocab_size"] - 1),
                TensorSpec("lengths", "int64", ("batch",), min=1, max=stats["max_tokens"]))


@dataclass(frozen=True)
class RawTexts:
    """Texts a server takes instead of token ids, tokenized by the tokenizer the model trained
    with (the contract's), checked as validation checks texts."""

    tokenizer: object
    max_chars: int
    name: ClassVar[str] = "text"
    example: ClassVar[tuple] = ("a",)

    def field(self, max_batch: int):
        from typing import Annotated

        from pydantic import Field, StringConstraints

        text = Annotated[str, StringConstraints(min_length=1, max_length=self.max_chars)]
        return Annotated[list[text], Field(min_length=1, max_length=max_batch,
                                           description=f"1 to {max_batch} texts of 1 to {self.max_chars} characters")]

    def max_bytes(self, max_batch: int) -> int:
        return max_batch * (self.max_chars * 6 + 4) + 64 * 1024  # every character as a \uXXXX escape

    def problems(self, values) -> list[tuple[int, str]]:
        texts = np.array(values)
        found = [(i, "holds no word (empty or only whitespace)") for i, text in enumerate(values) if not text.split()]
        return found + [(int(i), "holds characters that are not text (lone surrogates or U+FFFD)")
                        for i in np.flatnonzero(undecodable(texts))]

    def encode(self, values) -> dict[str, np.ndarray]:
        tokens, lengths = encode(self.tokenizer, np.array(values))
        return {"tokens": tokens, "lengths": lengths}


def load_tokenizer(stats: dict):
    """The tokenizer prepare learnt, from the stats (or a model's meta) that carry it."""
    from tokenizers import Tokenizer

    return Tokenizer.from_str(stats["tokenizer"])


TEXTS = register_modality(Texts())

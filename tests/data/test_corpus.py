"""What ingest and prepare make of a corpus: Shakespeare's speeches as Tiny Shakespeare writes
them, split by position, a character vocabulary from the training split only, streams read as
windows."""

import dataclasses

import numpy as np
import pytest
from tokenizers import Tokenizer

from mastery.config import Params, TokenizerConfig, load_spec
from mastery.data.prepare import PreparedData, write_splits
from mastery.data.raw import DataSourceError, RawData
from mastery.data.registry import get_dataset
from mastery.data.sources.corpus import load_shakespeare, speeches
from mastery.modalities.corpus import encode_stream
from mastery.modalities.text import UNK_ID, train_tokenizer

PLAY = """# The Tempest

## ACT I

### SCENE I. On a ship at sea.

_A tempestuous noise of thunder and lightning heard. Enter a
Ship-Master and a Boatswain_

**MASTER**  
Boatswain!

**BOATSWAIN**  
Here, master: what cheer?  
_Exit_  
Good, speak to the mariners: fall to't, yarely, \\[or\\] we run
ourselves aground: *bestir*, bestir.

**ALONSO**  

"""


def test_speeches_are_speaker_and_lines_without_headings_or_stage_directions():
    assert speeches(PLAY) == [
        "MASTER:\nBoatswain!",
        ("BOATSWAIN:\nHere, master: what cheer?\nGood, speak to the mariners: fall to't, yarely, [or] we run\n"
        "ourselves aground: bestir, bestir."),
    ]  # ALONSO says nothing here: no speech


def test_the_packaged_plays_are_read_in_order_one_row_a_speech():
    raw = load_shakespeare(Params(pipelines=("lm",)))
    assert raw.rows == 31_354 and raw.extra["files"] == 38
    assert raw["text"][0].startswith("THESEUS:\nNow, fair Hippolyta, our nuptial hour")  # A Midsummer Night's Dream


def corpus(texts) -> RawData:
    texts = np.array(texts)
    return RawData(arrays={"text": texts}, modality="corpus", source_split=np.full(len(texts), "train"),
                   source="test", declared_rows=len(texts))


def spec_with(context: int):
    spec = load_spec("lm")
    return dataclasses.replace(spec, tokenizer=dataclasses.replace(spec.tokenizer, max_tokens=context))


def test_splits_are_stretches_in_order_and_the_vocabulary_is_the_training_splits(tmp_path):
    rows = [f"A{i % 10}:\n" + "to be or not to be " * 3 for i in range(18)] + ["A1:\nquiz", "A2:\nzoo"]
    spec = spec_with(6)
    stats = write_splits(corpus(rows), get_dataset("shakespeare"), spec, 0, tmp_path,
                         split=dataclasses.replace(spec.split, val_rows=2, test_rows=2))
    assert stats["counts"] == {"train": 16, "val": 2, "test": 2}
    train_text, test_text = "\n\n".join(rows[:16]), "\n\n".join(rows[18:])
    tokenizer = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    assert set(tokenizer.get_vocab()) == {*train_text, "[PAD]", "[UNK]"}  # nothing learnt from val or test
    test = np.load(tmp_path / "test_stream.npy")
    unknown = [c for c in test_text if c not in train_text]  # q, u, i, z
    assert stats["unknown"]["test"] == (test == UNK_ID).sum() == len(unknown) == 5
    assert tokenizer.decode(test.tolist()) == "".join(c for c in test_text if c in train_text)


def test_windows_are_the_stream_and_its_next_character(tmp_path):
    rows = [f"S{i}:\n" + "now is the winter of our discontent " * 4 for i in range(40)]
    write_splits(corpus(rows), get_dataset("shakespeare"), spec_with(16), 0, tmp_path)
    stream = np.load(tmp_path / "train_stream.npy")
    train = PreparedData.load(tmp_path).splits["train"]
    windows = (len(stream) - 1) // 16
    assert train["tokens"].shape == train["target"].shape == (windows, 16)
    assert train["tokens"].flatten().tolist() == stream[: windows * 16].tolist()
    assert train["target"].flatten().tolist() == stream[1 : windows * 16 + 1].tolist()


def test_a_split_shorter_than_one_window_is_refused_by_name(tmp_path):
    rows = [f"S{i}:\n" + "word " * 30 for i in range(19)] + ["T:\nend"]
    spec = load_spec("lm")
    with pytest.raises(DataSourceError, match="split 'test' holds 6 characters, fewer than one window of 128"):
        write_splits(corpus(rows), get_dataset("shakespeare"), spec, 0, tmp_path,
                     split=dataclasses.replace(spec.split, val_rows=1, test_rows=1))


def test_the_fast_encoder_gives_the_tokenizers_own_ids():
    tokenizer = train_tokenizer(np.array(["Hark! who goes there?\nFriend."]), TokenizerConfig(model="char", min_frequency=1, lowercase=False))
    text = "Who's there?\nNay, answer me — stand!"
    assert encode_stream(tokenizer, text).tolist() == tokenizer.encode(text).ids
    assert tokenizer.decode(tokenizer.encode("who goes there?\nHark!").ids) == "who goes there?\nHark!"

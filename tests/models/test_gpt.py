"""GPT-mini: causal (a position never sees a later one), trainable, sampling as asked."""

import torch

from mastery.models import build_model

VOCAB = 11


def gpt(**params):
    torch.manual_seed(0)
    return build_model("gpt", vocab_size=VOCAB, context=16, width=32, depth=2, heads=4, **params).eval()


def test_a_position_reads_only_the_positions_before_it():
    model, tokens = gpt(), torch.randint(VOCAB, (3, 12), generator=torch.Generator().manual_seed(1))
    changed = tokens.clone()
    changed[:, 7:] = (changed[:, 7:] + 1) % VOCAB
    before, after = model(tokens), model(changed)
    assert before.shape == (3, 12, VOCAB)
    assert torch.allclose(before[:, :7], after[:, :7], atol=1e-6)
    assert not torch.allclose(before[:, 7:], after[:, 7:])
    maps = model.attention_maps(tokens)
    assert len(maps) == 2 and maps[0].shape == (3, 4, 12, 12)
    assert torch.allclose(maps[0].sum(-1), torch.ones(3, 4, 12)) and maps[0].triu(1).abs().max() == 0


def test_it_learns_a_repeating_pattern():
    model = gpt().train()
    pattern = torch.arange(16).repeat(2)[None, :17] % 5
    optimizer = torch.optim.AdamW(model.parameters(), 3e-3)
    for _ in range(150):
        loss = torch.nn.functional.cross_entropy(model(pattern[:, :-1]).flatten(0, 1), pattern[0, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05
    assert model.eval().generate(pattern[:, :3], 10, top_k=1)[0].tolist() == (torch.arange(13) % 5).tolist()


def test_sampling_is_seeded_top_k_bounded_and_reads_only_the_last_context():
    model, prompt = gpt(), torch.tensor([[1, 2, 3]])
    draw = lambda seed, **kw: model.generate(prompt, 40, generator=torch.Generator().manual_seed(seed), **kw)
    assert torch.equal(draw(0), draw(0)) and not torch.equal(draw(0), draw(1))
    assert draw(0).shape == (1, 43) and torch.equal(draw(0)[:, :3], prompt)  # longer than the context of 16
    greedy = draw(0, top_k=1)
    assert torch.equal(greedy, draw(5, top_k=1))  # one candidate: no chance left
    last = model(greedy[:, -17:-1])[:, -1].argmax(-1)
    assert greedy[0, -1] == last  # each step from the last 16 ids
    cold = draw(0, temperature=1e-4)
    assert torch.equal(cold, greedy)

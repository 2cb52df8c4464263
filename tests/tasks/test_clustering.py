"""The clustering task and its families: DEC's target sharpens q, epoch 0 is K-means on the
model's own (standardised) codes, scores are the whole split's whatever the batches, IDEC
trains its decoder and DEC has none, a pretrained autoencoder starts them, an augmented view
is fitted to the clean image's target (DEC-DA), and prototypes keep a curved cluster."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.cluster import KMeans

from mastery.config import AugmentationConfig, TaskConfig, TrainConfig
from mastery.errors import MasteryError
from mastery.evaluation.clustering import contingency, matched_accuracy
from mastery.models.artifact import build_trained, family_net
from mastery.models.clustering import Centres
from mastery.tasks import build_task
from mastery.tasks.clustering import target_distribution
from mastery.training.inference import predict
from mastery.training.trainer import Trainer
from mastery.training.transfer import warm_start

SHAPE = (1, 8, 8)
CLASSES = 3


def blobs(n: int = 90, seed: int = 0) -> dict[str, torch.Tensor]:
    """Images of three classes: a bright square in one of three places, plus noise."""
    g = torch.Generator().manual_seed(seed)
    label = torch.arange(n) % CLASSES
    image = 0.2 * torch.rand(n, *SHAPE, generator=g)
    for c in range(CLASSES):
        image[label == c, :, 2 * c : 2 * c + 3, 2 * c : 2 * c + 3] += 0.8
    return {"image": image.clamp(0, 1), "label": label}


def model(family: str, **params):
    meta = {"family": family, "params": {"code": 4, "widths": [16], **params} if family != "kmeans_pixels" else params,
            "modality": "image", "dims": {"in_shape": SHAPE, "clusters": CLASSES}, "mean": [0.3], "std": [0.2]}
    return build_trained(meta)


def clustering(**settings):
    return build_task("clustering", "image", TaskConfig("clustering", **settings))


def test_the_target_distribution_sharpens_each_assignment_and_keeps_rows_normalised():
    q = torch.softmax(torch.randn(64, 5, generator=torch.Generator().manual_seed(0)), dim=1)
    p = target_distribution(q)
    torch.testing.assert_close(p.sum(dim=1), torch.ones(64))

    def entropy(x):
        return -(x * x.log()).sum(dim=1)

    assert (entropy(p) < entropy(q)).float().mean() > 0.9
    assert (p.max(dim=1).values > q.max(dim=1).values).float().mean() > 0.9


def test_the_target_distribution_weighs_down_a_crowded_cluster():
    q = torch.tensor([[0.6, 0.4]] * 9 + [[0.1, 0.9]])  # cluster 0 holds more of the soft mass: 5.5 to 4.5
    p = target_distribution(q)
    squared = (q[0, 1] / q[0, 0]) ** 2  # what squaring alone would make of the odds
    assert p[0, 1] / p[0, 0] == pytest.approx(squared * 5.5 / 4.5)  # ... moved toward the smaller cluster


@pytest.mark.parametrize("family", ["kmeans_pixels", "dec"])
def test_epoch_zero_is_kmeans_on_the_models_own_standardised_codes(family):
    train, val = blobs(seed=0), blobs(60, seed=1)
    torch.manual_seed(3)
    net = model(family)
    trainer = Trainer(net, clustering(), TrainConfig(epochs=0, eval_batch_size=7))
    record = trainer.fit(train, val)[0]
    assert record["epoch"] == 0
    torch.manual_seed(3)  # the same draws: the same network, then K-means' seed
    fresh = model(family)
    seed = int(torch.randint(2**31 - 1, ()))
    restarts = family_net(fresh).assign.restarts
    with torch.no_grad():
        codes, val_codes = (fresh.encode(split["image"]).numpy() for split in (train, val))
    kmeans = KMeans(CLASSES, n_init=restarts, random_state=seed).fit(codes)
    expected = matched_accuracy(contingency(kmeans.predict(val_codes), val["label"].numpy(), CLASSES))
    assert record["val_accuracy"] == pytest.approx(expected)
    assert record["val_accuracy"] > 0.9  # the three squares are three clusters
    assigned = predict(trainer.model, trainer.task, val, torch.device("cpu")).argmax(dim=1).numpy()
    np.testing.assert_array_equal(assigned, kmeans.predict(val_codes))


def test_an_epochs_scores_are_the_whole_splits_whatever_the_batch_size():
    split, task = blobs(50), clustering()
    torch.manual_seed(0)
    net = model("dec")
    family_net(net).assign.centres.data = torch.randn(CLASSES, 4)
    outputs = predict(net, task, split, torch.device("cpu"))
    whole = task.score(outputs, split, {}).metrics
    for size in (7, 50):
        scores = Trainer(net, task, TrainConfig(eval_batch_size=size)).evaluate(split)
        assert scores["accuracy"] == pytest.approx(whole["accuracy"]) and scores["nmi"] == pytest.approx(whole["nmi"])


def one_step(family: str) -> tuple[dict, dict]:
    """The summed scores and each parameter's gradient after one training step of the family."""
    net, grads = model(family), {}
    family_net(net).assign.centres.data = torch.randn(CLASSES, 4)

    def step(optimizer, loss):
        loss.backward()
        grads.update({name: p.grad for name, p in net.named_parameters()})

    sums, _ = clustering(reconstruction_weight=0.5).training_step(net.train(), blobs(32), step)
    return sums, grads


@pytest.mark.parametrize("family, decoder", [("idec", True), ("dec", False)])
def test_idec_trains_its_decoder_beside_the_centres_and_dec_has_none(family, decoder):
    torch.manual_seed(0)
    sums, grads = one_step(family)
    assert any(".head." in name for name in grads) == decoder and ("reconstruction" in sums) == decoder
    assert all(grad is not None and grad.abs().sum() > 0 for grad in grads.values())
    assert grads["net.assign.centres"].abs().sum() > 0


def test_a_pretrained_autoencoder_starts_dec_with_its_encoder_and_idec_with_both_halves():
    meta = {"family": "mlp_autoencoder", "params": {"code": 4, "hidden": [16]}, "modality": "image",
            "dims": {"in_shape": SHAPE}, "mean": [0.3], "std": [0.2]}
    torch.manual_seed(0)
    autoencoder = build_trained(meta)
    images = blobs(8)["image"]
    for family in ("dec", "idec"):
        started = warm_start(model(family), autoencoder)
        torch.testing.assert_close(started.encode(images), autoencoder.encode(images))
    idec = family_net(warm_start(model("idec"), autoencoder))
    code = torch.randn(3, 4)
    torch.testing.assert_close(idec.decode(code), family_net(autoencoder).decode(code))
    with pytest.raises(MasteryError, match="not the same family"):
        warm_start(model("dec"), torch.nn.Linear(2, 2))


def test_every_family_gives_a_soft_assignment_per_image():
    for family in ("kmeans_pixels", "dec", "idec"):
        q = model(family)(blobs(5)["image"])
        assert q.shape == (5, CLASSES)
        torch.testing.assert_close(q.sum(dim=1), torch.ones(5))


def test_with_augmentation_the_view_is_fitted_to_the_target_of_the_clean_image():
    task, batch = clustering(), blobs(32)
    assert task.train_transform(TrainConfig()) is None  # no augmentation, no view
    moved = task.train_transform(TrainConfig(augmentation=AugmentationConfig(shift=2)))(batch, torch.Generator())
    torch.testing.assert_close(moved["image"], batch["image"])
    assert not torch.equal(moved["view"], batch["image"])
    torch.manual_seed(0)
    net = model("dec").train()
    family_net(net).assign.centres.data = torch.randn(CLASSES, 4)
    losses = []
    task.training_step(net, moved, lambda optimizer, loss: losses.append(loss.detach()))
    with torch.no_grad():
        target = target_distribution(net(moved["image"]))
        expected = F.kl_div(net(moved["view"]).log(), target, reduction="batchmean")
        unaugmented = task.loss(net(moved["image"]), moved)
    assert losses[0] == pytest.approx(float(expected), rel=1e-5)
    assert losses[0] != pytest.approx(float(unaugmented), rel=1e-3)


def rings(n: int = 200) -> tuple[torch.Tensor, np.ndarray]:
    """Codes on two concentric circles (radii 1 and 4): two clusters with the same mean."""
    angle = torch.rand(2 * n, generator=torch.Generator().manual_seed(0)) * 2 * torch.pi
    ring = np.repeat([0, 1], n)
    radius = torch.from_numpy(1.0 + 3.0 * ring).float()
    return torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1), ring


@pytest.mark.parametrize("prototypes, lowest", [(8, 0.99), (1, None)])
def test_prototypes_keep_a_cluster_that_umap_found_curved(prototypes, lowest):
    codes, ring = rings()
    centres = Centres(2, 2, method="umap", prototypes=prototypes)
    torch.manual_seed(0)
    centres.fit(codes)
    accuracy = matched_accuracy(contingency(centres(codes).argmax(dim=1).numpy(), ring, 2))
    if lowest:
        assert accuracy >= lowest
    else:  # one mean per ring: both near the origin, the rings cut across
        assert accuracy < 0.8

"""Trainer vs a bare PyTorch loop: same LeNet-5, data, batch size and optimizer, one process.

The bare side is the tutorial loop (TensorDataset + DataLoader(shuffle=True), zero_grad /
forward / loss / backward / step, nothing else). The trainer side runs as a user would:
validation every epoch, MLflow logging (SQLite in a temp dir), safetensors checkpoints.
Runs alternate (bare, trainer, bare, trainer, ...) so machine noise hits both; we report
medians of training throughput (train samples / wall second, everything included) and
their ratio, plus the test accuracy each reaches.

    python benchmarks/trainer_vs_bare_loop.py --epochs 6 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from mastery.config import OptimizerConfig, Params, SplitConfig, TrackingConfig, TrainConfig
from mastery.data.prepare import PreparedData, write_splits
from mastery.data.registry import get_dataset
from mastery.models import Standardized, build_model
from mastery.tasks import build_task
from mastery.training.trainer import Trainer

BATCH, LR = 128, 1e-3


def load_data(workdir: Path) -> PreparedData:
    info = get_dataset("fashion_mnist")
    raw = info.load(Params(pipelines=("vision",)))
    write_splits(raw, info, None, 0, workdir / "prepared", split=SplitConfig(val=0.1))
    return PreparedData.load(workdir / "prepared")


@torch.inference_mode()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model.eval()(x).argmax(1) == y).float().mean())


def bare_loop(data: PreparedData, epochs: int, seed: int, loader: str = "dataloader") -> tuple[float, float]:
    """The tutorial loop; `loader="tensor"` batches by index instead of through a DataLoader."""
    torch.manual_seed(seed)
    x, y = data.splits["train"]["image"], data.splits["train"]["label"]
    mean, std = data.stats["mean"][0], data.stats["std"][0]
    model = build_model("lenet5")
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    dataset = TensorDataset((x - mean) / std, y)
    loader = DataLoader(dataset, batch_size=BATCH, shuffle=True) if loader == "dataloader" else TensorBatches(dataset)
    loss_fn = nn.CrossEntropyLoss()
    started = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
    seconds = time.perf_counter() - started
    x_test, y_test = data.splits["test"]["image"], data.splits["test"]["label"]
    return epochs * len(x) / seconds, accuracy(model, (x_test - mean) / std, y_test)


class TensorBatches:
    """Shuffled mini-batches by one index gather per batch: no per-sample collate."""

    def __init__(self, dataset: TensorDataset):
        self.x, self.y = dataset.tensors

    def __iter__(self):
        order = torch.randperm(len(self.x))
        for start in range(0, len(order), BATCH):
            index = order[start : start + BATCH]
            yield self.x[index], self.y[index]


def trainer_loop(data: PreparedData, epochs: int, seed: int, workdir: Path) -> tuple[float, float]:
    import mlflow

    from mastery.tracking.mlflow_runs import EpochLogger, configure

    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{workdir / 'mlflow.db'}"
    configure(TrackingConfig(), "benchmark")
    torch.manual_seed(seed)
    model = Standardized(build_model("lenet5"), data.stats["mean"], data.stats["std"])
    config = TrainConfig(epochs=epochs, batch_size=BATCH, optimizer=OptimizerConfig("adam", lr=LR))
    started = time.perf_counter()
    with mlflow.start_run() as run:
        trainer = Trainer(
            model, build_task("classification", "image"), config, callbacks=[EpochLogger(run.info.run_id)],
            checkpoint_dir=workdir / f"ckpt-{seed}", seed=seed,
        )
        trainer.fit(data.splits["train"], data.splits["val"], resume=False)
    seconds = time.perf_counter() - started
    test = data.splits["test"]
    return epochs * len(data.splits["train"]["label"]) / seconds, accuracy(trainer.model, test["image"], test["label"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        data = load_data(workdir)
        import mlflow  # noqa: F401  (import cost is not part of the loop)

        loops = {
            "bare PyTorch (DataLoader)": lambda seed: bare_loop(data, args.epochs, seed),
            "bare PyTorch (tensor batches)": lambda seed: bare_loop(data, args.epochs, seed, "tensor"),
            "mastery Trainer (val + MLflow + checkpoints)": lambda seed: trainer_loop(data, args.epochs, seed, workdir),
        }
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in loops}
        for repeat in range(args.repeats):
            for name, loop in loops.items():
                runs[name].append(loop(repeat))
                print(f"repeat {repeat}: {name}: {runs[name][-1][0]:,.0f} samples/s", flush=True)
    report(runs, args)


def report(runs: dict, args) -> None:
    medians = {name: statistics.median(r[0] for r in rs) for name, rs in runs.items()}
    baseline = next(iter(medians.values()))
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"LeNet-5, Fashion-MNIST, batch {BATCH}, Adam {LR}, {args.epochs} epochs x {args.repeats} repeats")
    print("| loop | median samples/s | ratio to bare DataLoader | test accuracy (median) |")
    print("|---|---|---|---|")
    for name, median in medians.items():
        accuracy_ = statistics.median(r[1] for r in runs[name])
        print(f"| {name} | {median:,.0f} | {median / baseline:.3f} | {accuracy_:.4f} |")


if __name__ == "__main__":
    main()

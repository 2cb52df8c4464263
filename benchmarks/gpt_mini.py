"""GPT-mini on Shakespeare: nanoGPT's CPU example as the in-harness anchor, against our
configuration (`pipelines/lm.yaml`'s candidate), trained one after the other in one run.

The anchor is nanoGPT's CPU command exactly (`train_shakespeare_char.py --block_size=64
--batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000 --lr_decay_iters=2000
--dropout=0.0`: AdamW lr 1e-3, β2 0.99, weight decay 0.1, 100 warm-up steps then cosine to
1e-4, gradient clip 1.0), evaluated every 250 steps; nanoGPT reports val loss 1.88 on Tiny
Shakespeare. Both arms run in our trainer on our split of the 38 plays (90 / 5 / 5 by
position), prepared at each arm's context. Reported per arm: validation loss (nats per
character) after each evaluation, training seconds (evaluation excluded) and the kept val
loss; then the test loss of both and a sample of ours. Goal: ours ≥ 0.15 nats below the
anchor, and ≤ 1.75, in ≤ 10 minutes of training.

    python benchmarks/gpt_mini.py
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ANCHOR = {"name": "nanogpt_cpu", "model": "gpt", "params": {"width": 128, "depth": 4, "heads": 4, "dropout": 0.0},
          "train": {"epochs": 8, "max_batches": 250, "batch_size": 12, "grad_clip": 1.0,
                    "optimizer": {"name": "adamw", "lr": 1.0e-3, "weight_decay": 0.1, "beta2": 0.99},
                    "scheduler": {"name": "warmup_cosine", "warmup_steps": 100, "min_lr": 1.0e-4}}}
ANCHOR_CONTEXT = 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="cap every epoch at this many steps (a smoke run)")
    args = parser.parse_args()

    import torch

    from mastery.config import CandidateSpec, load_params, load_spec
    from mastery.config.strict import parse
    from mastery.data.prepare import PreparedData, write_splits
    from mastery.data.registry import get_dataset
    from mastery.evaluation import score_model
    from mastery.tasks import build_task
    from mastery.training.build import build_trainer

    params, spec = load_params(REPO / "params.yaml"), load_spec("lm", REPO)
    info = get_dataset(spec.dataset)
    raw = info.load(params)
    task = build_task(spec.task.name, "corpus")
    ours = spec.candidates[0]
    anchor = parse(CandidateSpec, ANCHOR | {"train": {**dataclasses.asdict(spec.train), **ANCHOR["train"]}}, "anchor")
    arms = [(anchor, ANCHOR_CONTEXT), (ours, spec.tokenizer.max_tokens)]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for candidate, context in arms:
            if args.steps:
                candidate = dataclasses.replace(candidate, train=dataclasses.replace(candidate.train, max_batches=args.steps))
            out = Path(tmp) / candidate.name
            arm_spec = dataclasses.replace(spec, tokenizer=dataclasses.replace(spec.tokenizer, max_tokens=context))
            write_splits(raw, info, arm_spec, params.seed, out)
            data = PreparedData.load(out)
            trainer, _ = build_trainer(candidate, task, data, torch.device("cpu"), params.seed)
            started = time.perf_counter()
            history = trainer.fit(data.splits["train"], data.splits["val"], resume=False)
            wall = time.perf_counter() - started
            train_seconds = sum(r["epoch_seconds"] - r["eval_seconds"] for r in history)
            test = score_model(trainer.model, task, data.splits["test"], data.stats).metrics
            results[candidate.name] = {
                "context": context, "steps": len(history) * min(task.batches_per_epoch(data.splits["train"], candidate.train.batch_size), candidate.train.max_batches or 10**9),
                "batch_size": candidate.train.batch_size, "params": sum(p.numel() for p in trainer.model.parameters()),
                "val_loss": [round(r["val_loss"], 4) for r in history], "best_val_loss": round(trainer.best_value, 4),
                "test_loss": round(test["loss"], 4), "train_seconds": round(train_seconds, 1), "wall_seconds": round(wall, 1),
                "sample": _sample(trainer.model, data.stats),
            }
            print(json.dumps({candidate.name: {k: v for k, v in results[candidate.name].items() if k != "sample"}}), flush=True)
    _report(results, anchor.name, ours.name)


def _sample(model, stats: dict) -> str:
    from mastery.tasks.language_model import sample_text

    return sample_text(model, stats, prompt="\n", tokens=300, temperature=0.8, top_k=None, seed=0)


def _report(results: dict, anchor: str, ours: str) -> None:
    import torch

    print(f"\nmachine: {platform.node()} {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}")
    print("| arm | context | batch | steps | parameters | train s | best val loss | test loss |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['context']} | {r['batch_size']} | {r['steps']} | {r['params']:,} | {r['train_seconds']} "
              f"| {r['best_val_loss']} | {r['test_loss']} |")
    gap = results[anchor]["best_val_loss"] - results[ours]["best_val_loss"]
    print(f"\n{ours} is {gap:.3f} nats/char below the anchor on validation (goal >= 0.15, and <= 1.75)")
    for name, r in results.items():
        print(f"\nval loss after each evaluation, {name}: {r['val_loss']}")
    print(f"\nsample of {ours} (temperature 0.8):\n{results[ours]['sample']}")


if __name__ == "__main__":
    main()

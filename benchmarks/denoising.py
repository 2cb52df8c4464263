"""The denoising autoencoder of `pipelines/autoencoders.yaml` against the two baselines it must
beat (issue 14: "beats both baselines in PSNR at the fixed noise level").

Trains the spec's `denoising_ae` candidate in our trainer on the spec's data and split (its
recipe: noise of the task's std drawn afresh each step, early stopping on val PSNR), then
scores the test split under the task's fixed, seeded noise: the model's reconstruction, the
noisy input itself and a 3x3 median filter of it, each against the clean image. Reported:
mean and median over the test images of PSNR (dB, [0, 1] pixels) and SSIM, the image count,
training seconds (evaluation excluded) and the val PSNR after each epoch. Goal: the model's
mean test PSNR above both baselines' in <= 10 minutes of training.

    OMP_NUM_THREADS=1 python benchmarks/denoising.py [--threads 1] [--epochs N] [--steps N]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROWS = (("denoising autoencoder", ""), ("noisy input", "_noisy"), ("median filter 3x3", "_median3"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidate", default="denoising_ae")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the machine is shared)")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs (the budget)")
    parser.add_argument("--steps", type=int, default=None, help="cap every epoch at this many steps (a smoke run)")
    args = parser.parse_args()

    import numpy as np
    import torch

    from mastery.config import load_params, load_spec
    from mastery.data.prepare import PreparedData, write_splits
    from mastery.data.registry import get_dataset
    from mastery.evaluation import score_model
    from mastery.tasks import build_task
    from mastery.training.build import build_trainer

    torch.set_num_threads(args.threads)
    params, spec = load_params(REPO / "params.yaml"), load_spec("autoencoders", REPO)
    info = get_dataset(spec.dataset)
    task = build_task(spec.task.name, info.modality, spec.task)
    candidate = spec.candidate(args.candidate)
    overrides = {"epochs": args.epochs, "max_batches": args.steps}
    candidate = dataclasses.replace(candidate, train=dataclasses.replace(
        candidate.train, **{k: v for k, v in overrides.items() if v is not None}))
    with tempfile.TemporaryDirectory() as tmp:
        write_splits(info.load(params), info, spec, params.seed, Path(tmp))
        data = PreparedData.load(Path(tmp))
    trainer, _ = build_trainer(candidate, task, data, torch.device("cpu"), params.seed)
    history = trainer.fit(data.splits["train"], data.splits["val"], resume=False)
    scores = score_model(trainer.model, task, data.splits["test"], data.stats)
    per_image = scores.per_image

    train_seconds = sum(r["epoch_seconds"] - r["eval_seconds"] for r in history)
    print(f"machine: {platform.node()} {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.2f} at the end")
    print(f"{candidate.name} ({candidate.model}, {json.dumps(candidate.params)}), "
          f"{sum(p.numel() for p in trainer.model.parameters()):,} parameters; {len(history)} epochs, "
          f"kept epoch {trainer.best_record()['epoch']}, {train_seconds:.0f} s of training")
    print(f"test: {len(scores.clean):,} {spec.dataset} images under gaussian noise std {spec.task.noise_std} "
          f"(seed {spec.task.noise_seed}, clipped to [0, 1])\n")
    print("| denoiser | mean PSNR (dB) | median PSNR (dB) | mean SSIM | median SSIM |")
    print("|---|---:|---:|---:|---:|")
    for label, suffix in ROWS:
        value, ssim = per_image[f"psnr{suffix}"], per_image[f"ssim{suffix}"]
        print(f"| {label} | {value.mean():.2f} | {np.median(value):.2f} | {ssim.mean():.4f} | {np.median(ssim):.4f} |")
    margin = per_image["psnr"].mean() - max(per_image["psnr_noisy"].mean(), per_image["psnr_median3"].mean())
    wins = float(np.mean(per_image["psnr"] > np.maximum(per_image["psnr_noisy"], per_image["psnr_median3"])))
    print(f"\nmodel minus the better baseline: {margin:+.2f} dB mean PSNR (goal > 0); "
          f"above both on {wins:.1%} of the images")
    print(f"val PSNR after each epoch: {[round(r['val_psnr'], 2) for r in history]}")


if __name__ == "__main__":
    main()

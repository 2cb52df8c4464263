"""Datasets: registry, packaged sources, raw-data contract, splits, augmentation."""

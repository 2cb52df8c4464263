"""MLflow set-up, batched run logging, the model registry, lineage fingerprints."""

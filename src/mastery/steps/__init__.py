"""The pipeline steps as plain functions (one module each); the CLI, `dvc.yaml` and Prefect flows call them."""

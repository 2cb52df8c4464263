"""mastery: the models of Deep Learning Mastery through a real, reproducible MLOps pipeline."""

import os

# Offline and quiet by default: every tool in the stack stays so unless the user opts back in.
for _name, _value in {
    "DO_NOT_TRACK": "true",  # MLflow honours only the string "true"
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DVC_NO_ANALYTICS": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "ORT_DISABLE_TELEMETRY": "1",
    "MLFLOW_LOGGING_LEVEL": "WARNING",  # not "Creating initial MLflow database tables..." on every step
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",  # a tqdm bar per artifact download
}.items():
    os.environ.setdefault(_name, _value)

__version__ = "0.1.0"

"""Model families behind one registry; models know nothing of MLflow, Optuna or Prefect."""

from mastery.models.registry import build_model, list_models, register_model
from mastery.models.standardize import Standardize, Standardized

__all__ = ["Standardize", "Standardized", "build_model", "list_models", "register_model"]

"""Typed, validated configuration: `params.yaml` and pipeline specs, parsed once at the edge."""

from mastery.config.loading import load_params, load_spec
from mastery.config.schema import (
    AugmentationConfig,
    CandidateSpec,
    EarlyStoppingConfig,
    OptimizerConfig,
    Params,
    PipelineSpec,
    SchedulerConfig,
    SplitConfig,
    TrainConfig,
)
from mastery.config.strict import ConfigError

__all__ = [
    "AugmentationConfig",
    "CandidateSpec",
    "ConfigError",
    "EarlyStoppingConfig",
    "OptimizerConfig",
    "Params",
    "PipelineSpec",
    "SchedulerConfig",
    "SplitConfig",
    "TrainConfig",
    "load_params",
    "load_spec",
]

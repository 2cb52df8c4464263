"""Typed, validated configuration: `params.yaml` and pipeline specs, parsed once at the edge."""

from mastery.config.loading import load_params, load_spec
from mastery.config.schema import (
    AugmentationConfig,
    CandidateSpec,
    EarlyStoppingConfig,
    ExportConfig,
    GateConfig,
    OptimizerConfig,
    Params,
    PipelineSpec,
    SchedulerConfig,
    SplitConfig,
    TrackingConfig,
    TrainConfig,
)
from mastery.config.strict import ConfigError

__all__ = [
    "AugmentationConfig",
    "CandidateSpec",
    "ConfigError",
    "EarlyStoppingConfig",
    "ExportConfig",
    "GateConfig",
    "OptimizerConfig",
    "Params",
    "PipelineSpec",
    "SchedulerConfig",
    "SplitConfig",
    "TrackingConfig",
    "TrainConfig",
    "load_params",
    "load_spec",
]

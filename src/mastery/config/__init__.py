"""Typed, validated configuration: `params.yaml` and pipeline specs, parsed once at the edge."""

from mastery.config.loading import load_params, load_spec, override
from mastery.config.schema import (
    AugmentationConfig,
    CandidateSpec,
    Distribution,
    EarlyStoppingConfig,
    ExportConfig,
    GateConfig,
    NasConfig,
    OptimizerConfig,
    Params,
    PipelineSpec,
    SchedulerConfig,
    SearchConfig,
    SplitConfig,
    TaskConfig,
    TokenizerConfig,
    TrackingConfig,
    TrainConfig,
    TuneConfig,
)
from mastery.config.strict import ConfigError

__all__ = [
    "AugmentationConfig",
    "CandidateSpec",
    "ConfigError",
    "Distribution",
    "EarlyStoppingConfig",
    "ExportConfig",
    "GateConfig",
    "NasConfig",
    "OptimizerConfig",
    "Params",
    "PipelineSpec",
    "SchedulerConfig",
    "SearchConfig",
    "SplitConfig",
    "TaskConfig",
    "TokenizerConfig",
    "TrackingConfig",
    "TrainConfig",
    "TuneConfig",
    "load_params",
    "load_spec",
    "override",
]

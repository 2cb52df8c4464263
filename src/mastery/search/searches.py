"""The two searches over one runner: `tune` (hyperparameters of a declared candidate,
single objective, pruned) and `nas` (architectures of a family, multi-objective).

Each trial trains a candidate through the same Trainer as `mastery train`, so what the
search measures is what training will reproduce.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from torch import nn

from mastery.config import CandidateSpec, ConfigError, NasConfig, SearchConfig, TuneConfig, override
from mastery.config.schema import ChoiceRule
from mastery.data.prepare import PreparedData
from mastery.errors import MasteryError
from mastery.evaluation.cost import count_parameters, measure_latencies_ms
from mastery.search.space import suggest
from mastery.search.tracking import trial_run
from mastery.steps.context import Context
from mastery.tracking.mlflow_runs import EpochLogger
from mastery.training.build import build_trainer
from mastery.training.callbacks import Callback
from mastery.training.device import resolve_device
from mastery.training.trainer import Trainer, TrainingDiverged

COSTS = ("n_parameters", "latency_ms")  # what a model costs to serve: lower is better


class Search:
    kind: str
    config: SearchConfig
    base: CandidateSpec

    def __init__(self, ctx: Context):
        self.ctx = ctx

    @property
    def directions(self) -> list[str]:
        raise NotImplementedError

    def sampler(self, seed: int):
        raise NotImplementedError

    def pruner(self):
        import optuna

        return optuna.pruners.NopPruner()

    def callbacks(self, trial) -> list[Callback]:
        return []

    def score(self, trial, trainer: Trainer, run_id: str) -> float | tuple[float, ...]:
        raise NotImplementedError

    def definition(self) -> dict[str, Any]:
        """What makes two searches the same search (trial count and workers do not)."""
        config = dataclasses.asdict(self.config)
        for key in ("trials", "timeout_minutes", "workers", "storage", "heartbeat_seconds", "grace_seconds",
                    "candidate", "choose"):
            config.pop(key, None)
        if config.get("pruner") not in ("hyperband", "successive_halving"):  # resources no pruner reads
            for key in ("min_resource", "max_resource", "reduction_factor"):
                config.pop(key, None)
        # the recipe trials train, not the final one: a longer final training keeps the study
        trial_recipe = dataclasses.asdict(self.trial_candidate({}))
        return {"kind": self.kind, "base": trial_recipe, "search": config, "seed": self.ctx.params.seed}

    def trial_candidate(self, values: dict[str, Any]) -> CandidateSpec:
        """The base candidate on the search's (shorter) recipe, with the trial's values."""
        where = f"{self.ctx.paths.spec}: {self.kind}"
        return override(override(self.base, {"train": self.config.train}, where), values, where)

    def objective(self, data: PreparedData, study_run_id: str) -> Callable:
        import optuna

        def run(trial):
            values = suggest(trial, self.config.space)
            if (twin := _completed_twin(trial, values)) is not None:
                return _reuse(trial, twin)
            candidate = self.trial_candidate(values)
            name = f"{self.ctx.spec.name}/{self.kind}/trial-{trial.number}"
            with trial_run(study_run_id, trial, name, values) as run_id:
                trainer, _ = build_trainer(
                    candidate, self.ctx.task, data, resolve_device(self.ctx.params.device), self.ctx.params.seed,
                    self.ctx.params.deterministic, callbacks=[EpochLogger(run_id), *self.callbacks(trial)], name=name)
                try:
                    trainer.fit(data.splits["train"], data.splits["val"])
                except TrainingDiverged as error:  # a bad configuration, not a broken search
                    trial.set_user_attr("diverged", str(error))
                    raise optuna.TrialPruned(str(error)) from error
                return self.score(trial, trainer, run_id)

        return run

    def finish(self, study, directory: Path) -> dict:
        raise NotImplementedError


def _completed_twin(trial, values: dict[str, Any]):
    """A completed trial of the study with exactly these values: samplers propose a net again
    (NSGA-II's crossover of a small population copies parents whole)."""
    import optuna

    done = trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return next((t for t in done if t.user_attrs.get("values") == values), None)


def _reuse(trial, twin) -> list[float]:
    """The twin's result again, not a second training: minutes saved, and the front does not
    hold one net twice at two noisy latencies."""
    for key, value in twin.user_attrs.items():
        if key not in ("mlflow_run_id", "worker"):  # those say who ran it: nobody, here
            trial.set_user_attr(key, value)
    for name, value in twin.constraints.items():
        trial.set_constraint(name, value)
    trial.set_user_attr("same_as_trial", twin.number)
    return list(twin.values)


class TuneSearch(Search):
    kind = "tune"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.config: TuneConfig = ctx.spec.tune
        name = self.config.candidate or ctx.spec.candidates[0].name
        self.base = ctx.spec.candidate(name)
        self.metric = self.config.metric or f"val_{ctx.task.metrics.primary.name}"

    @property
    def directions(self) -> list[str]:
        return [self.config.direction or self.ctx.task.metrics.direction(self.metric)]

    def sampler(self, seed: int):
        import optuna

        samplers = {
            "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
            "random": lambda: optuna.samplers.RandomSampler(seed=seed),
            "cmaes": lambda: optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False),
            "gp": lambda: optuna.samplers.GPSampler(seed=seed),
        }
        return samplers[self.config.sampler]()

    def pruner(self):
        import optuna

        c, epochs = self.config, self.trial_candidate({}).train.epochs
        top = c.max_resource or epochs
        if not 1 <= c.min_resource <= top <= epochs or c.reduction_factor < 2:
            raise ConfigError(f"{self.ctx.paths.spec}: tune: need 1 <= min_resource ({c.min_resource}) <= max_resource "
                              f"({top}) <= the epochs a trial trains ({epochs}), and reduction_factor >= 2 "
                              f"({c.reduction_factor})")
        pruners = {
            "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
            "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=c.min_resource, max_resource=top,
                                                                reduction_factor=c.reduction_factor),
            "successive_halving": lambda: optuna.pruners.SuccessiveHalvingPruner(
                min_resource=c.min_resource, reduction_factor=c.reduction_factor),
            "none": optuna.pruners.NopPruner,
        }
        return pruners[c.pruner]()

    def callbacks(self, trial) -> list[Callback]:
        return [ReportToTrial(trial, self.metric)]

    def score(self, trial, trainer: Trainer, run_id: str) -> float:
        best = trainer.best_record()
        if self.metric not in best:
            raise MasteryError(f"tune.metric '{self.metric}' is not recorded; records have {sorted(best)}")
        return best[self.metric]

    def finish(self, study, directory: Path) -> dict:
        completed = [t for t in study.trials if t.state.name == "COMPLETE"]
        if not completed:
            raise MasteryError(f"study '{study.study_name}': no trial completed; see the trials' runs in MLflow")
        best = study.best_trial
        return {"candidate": self.base.name, "values": best.user_attrs["values"], "metric": self.metric,
                "value": best.value, "trial": best.number}


class ReportToTrial(Callback):
    """Reports the validation metric every epoch and stops a trial the pruner gives up on."""

    def __init__(self, trial, metric: str):
        self.trial, self.metric = trial, metric

    def on_epoch_end(self, trainer, record: dict) -> None:
        import optuna

        self.trial.report(record[self.metric], record["epoch"])
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"epoch {record['epoch']}: {self.metric} {record[self.metric]:.4f}")


class NasSearch(Search):
    kind = "nas"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.config: NasConfig = ctx.spec.nas
        self.base = self.config.candidate
        self.quality = next(o for o in self.config.objectives if o not in COSTS)  # what the model is for
        self.measures = (self.quality, *COSTS)

    @property
    def directions(self) -> list[str]:
        return [self._direction(o) for o in self.config.objectives]

    def _direction(self, objective: str) -> str:
        return "minimize" if objective in COSTS else self.ctx.task.metrics.direction(objective)

    @cached_property
    def latency_example(self) -> tuple:
        """One validation example as the model takes it: what serving latency is measured on."""
        val = PreparedData.load(self.ctx.paths.prepared).splits["val"]
        return self.ctx.task.example(val)

    @cached_property
    def reference(self) -> nn.Module | None:
        """The model of `nas.reference`, untrained: its costs are what a found net must beat."""
        if self.config.reference is None:
            return None
        from mastery.models.artifact import build_trained, model_meta

        candidate = self.ctx.spec.candidate(self.config.reference)
        stats = PreparedData.load(self.ctx.paths.prepared).stats
        return build_trained(model_meta(candidate.name, candidate.model, candidate.params, self.ctx.task, stats))

    def sampler(self, seed: int):
        import optuna

        samplers = {
            "nsga2": lambda: optuna.samplers.NSGAIISampler(population_size=self.config.population, seed=seed),
            "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
            "random": lambda: optuna.samplers.RandomSampler(seed=seed),
        }
        return samplers[self.config.sampler]()

    def score(self, trial, trainer: Trainer, run_id: str) -> tuple[float, ...]:
        from mastery.tracking.mlflow_runs import log_metrics

        models = [trainer.model] if self.reference is None else [trainer.model, self.reference]
        latencies = measure_latencies_ms(models, self.latency_example, resolve_device(self.config.latency_device))
        measures = {
            self.quality: trainer.best_record()[self.quality],
            "n_parameters": count_parameters(trainer.model),
            "latency_ms": latencies[0],
        }
        if self.reference is not None:
            measures |= {"reference_latency_ms": latencies[1]}
            self._constrain(trial, measures)
        for key, value in measures.items():
            trial.set_user_attr(key, value)
        log_metrics(run_id, measures)
        return tuple(measures[o] for o in self.config.objectives)

    def _constrain(self, trial, measures: dict) -> None:
        """Feasible (<= 0) where the trial's net is smaller and faster than the reference, as
        relative excesses: NSGA-II ranks infeasible trials by their summed violation, and a
        millisecond must not weigh what a parameter does. Latency is against the reference's
        timing in the same interleaved rounds, so a busy machine does not move the line."""
        trial.set_constraint("parameters", measures["n_parameters"] / count_parameters(self.reference) - 1)
        trial.set_constraint("latency", measures["latency_ms"] / measures["reference_latency_ms"] - 1)

    def finish(self, study, directory: Path) -> dict:
        front = study.best_trials  # of the trials within the reference's costs, where there is one
        if not front:
            raise MasteryError(f"study '{study.study_name}': {self._why_no_front(study)}; see the trials' runs in MLflow")
        sign = 1 if self._direction(self.quality) == "maximize" else -1
        chosen = choose(front, self.config.choose, lambda t: sign * t.user_attrs[self.quality])
        from mastery.steps.records import write_json

        write_json(directory / "pareto.json", [self._describe(t) for t in front])
        return {"candidate": self.base.name, "model": self.base.model, **self._describe(chosen)}

    def _why_no_front(self, study) -> str:
        completed = [t for t in study.trials if t.state.name == "COMPLETE"]
        if not completed:
            return "no trial completed"
        least = min(completed, key=lambda t: sum(max(v, 0) for v in t.constraints.values()))
        excess = ", ".join(f"{k} +{v:.0%}" for k, v in least.constraints.items() if v > 0)
        return (f"none of {len(completed)} trials is smaller and faster than nas.reference "
                f"'{self.config.reference}' (the closest, trial {least.number}: {excess})")

    def _describe(self, trial) -> dict:
        return {"trial": trial.number, "values": trial.user_attrs["values"],
                **{k: trial.user_attrs[k] for k in (*self.measures, "reference_latency_ms") if k in trial.user_attrs}}


def choose(front: list, rule: ChoiceRule, quality: Callable):
    """The lowest `rule.prefer` among the affordable front trials within `rule.tolerance` of the
    best `quality` (higher is better: a minimised metric comes negated)."""
    caps = {"n_parameters": rule.max_parameters, "latency_ms": rule.max_latency_ms}
    affordable = [t for t in front if all(cap is None or t.user_attrs[k] <= cap for k, cap in caps.items())]
    if not affordable:
        smallest = {k: min(t.user_attrs[k] for t in front) for k in caps}
        raise MasteryError(f"no architecture on the Pareto front fits nas.choose {caps}; the front's smallest: {smallest}")
    best = max(quality(t) for t in affordable)
    near = [t for t in affordable if quality(t) >= best - rule.tolerance]
    return min(near, key=lambda t: (t.user_attrs[rule.prefer], -quality(t)))


SEARCHES: dict[str, type[Search]] = {"tune": TuneSearch, "nas": NasSearch}

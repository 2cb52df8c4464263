"""Hyperparameter and architecture search with Optuna (textbook ch. 4 and 9).

`runner` drives a study (resumable, parallel, budgeted); `searches` says what a trial
trains and scores; `space` samples the spec's declared space; `results` hands the outcome
to training. Optuna still flags heartbeats and its matplotlib plots as experimental though
they have been stable for years; the warnings would drown the trial log, so they are off.
"""

import warnings

from optuna.exceptions import ExperimentalWarning

warnings.filterwarnings("ignore", category=ExperimentalWarning)
# said on every importance plot, whatever the target's sign; we pass the sign it asks for
warnings.filterwarnings("ignore", message="PedAnovaImportanceEvaluator computes")
# a small study has few trials per value of a parameter; the importance plot is a sketch then
warnings.filterwarnings("ignore", message="Some regimes for parameter")

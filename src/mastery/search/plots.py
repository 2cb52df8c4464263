"""Optuna's pictures of a study, as PNG files (offline, small, shown inline by MLflow)."""

from __future__ import annotations

from pathlib import Path


def plot_study(study, search, directory: Path) -> list[Path]:
    """History, importances and parallel coordinates; the Pareto front for a multi-objective study."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as ov

    completed = [t for t in study.trials if t.state.name == "COMPLETE"]
    if len(completed) < 2:  # importances and coordinates need something to compare
        return []
    names = list(getattr(search.config, "objectives", [getattr(search, "metric", "value")]))
    first = {} if len(names) == 1 else {"target": lambda t: t.values[0], "target_name": names[0]}
    # importances are computed for reaching low targets: negate a maximised first objective
    sign = -1 if study.directions[0].name == "MAXIMIZE" else 1
    lowest = {} if len(names) == 1 else {"target": lambda t: sign * t.values[0], "target_name": names[0]}
    plots = {
        "optimization_history": lambda: ov.plot_optimization_history(study, **first),
        "param_importances": lambda: ov.plot_param_importances(study, **lowest),
        "parallel_coordinate": lambda: ov.plot_parallel_coordinate(study, **first),
    }
    if len(names) > 1:
        plots["pareto_front"] = lambda: ov.plot_pareto_front(study, target_names=names)
    paths = []
    for name, plot in plots.items():
        axes = plot()
        figure = axes.flat[0].figure if hasattr(axes, "flat") else axes.figure
        path = directory / f"{name}.png"
        figure.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(figure)
        paths.append(path)
    return paths

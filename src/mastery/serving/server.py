"""`mastery serve`: one uvicorn process over the app, the champion loaded before it listens."""

from __future__ import annotations

import copy
import logging

from mastery.serving.app import ServeConfig, create_app
from mastery.serving.model import ServedModel, load_champion


def serve(config: ServeConfig, host: str = "127.0.0.1", port: int = 8000, on_ready=None) -> None:
    """Load and verify the champion (a refusal raises before anything listens), then serve until stopped.

    There is no access log: the prediction log already holds every prediction, and a line per
    request costs throughput.
    """
    model = load_champion(config.source)
    if on_ready:
        on_ready(model)
    serve_app(create_app(config, model), host, port)


def serve_app(app, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(app, host=host, port=port, access_log=False, log_config=_log_config())


def describe(model: ServedModel, host: str, port: int) -> str:
    return (
        f"serving {model.name} v{model.version} ({model.origin}, sha256 {model.sha256[:12]}...) "
        f"at http://{host}:{port}  (docs: /docs)"
    )


def _log_config() -> dict:
    """Uvicorn's logging, with the server's own messages (swaps, refusals) through the same handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["mastery.serving"] = {"handlers": ["default"], "level": logging.INFO, "propagate": False}
    return config

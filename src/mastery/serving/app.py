"""The FastAPI app over a served model.

Routes: `POST /predict` (a batch), `GET /health` (alive), `GET /ready` (a verified model is
loaded, and whether it is the champion), `GET /metadata` (the served version's lineage and
contract), `POST /admin/reload` (check the champion now), `/metrics`, `/docs`. With an API
key, `/predict` and `/admin/*` need it in the `X-API-Key` header.

No `from __future__ import annotations` here: FastAPI reads the endpoint's annotations at
run time, and the request schema is a class made from the model's contract.
"""

import hmac
import json
import threading
import uuid
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from fastapi import Depends, FastAPI, HTTPException, Request, Response, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader

from mastery.modalities import get_modality
from mastery.serving.docs import add_docs
from mastery.serving.limits import BodyLimit, default_body_limit
from mastery.serving.metrics import ServingMetrics
from mastery.serving.model import ModelSource, ServedModel
from mastery.serving.prediction_log import PredictionLog, column_types
from mastery.serving.schema import (
    ErrorBody,
    InputError,
    error_body,
    openapi_body,
    parse_request,
    request_model,
    response_model,
    to_arrays,
)
from mastery.serving.swap import ChampionWatcher
from mastery.serving.tasks import TASKS

API_KEY_HEADER = "X-API-Key"


@dataclass(frozen=True)
class ServeConfig:
    source: ModelSource
    log_path: Path  # monitoring/<pipeline>/predictions.sqlite
    max_batch: int = 64
    max_body_bytes: int | None = None  # default: `default_body_limit` of the contract and max_batch
    poll_seconds: float = 10.0  # how often to look at the champion alias; 0: only on /admin/reload
    api_key: str | None = None


def create_app(config: ServeConfig, model: ServedModel) -> FastAPI:
    """An app serving `model` now and the registry's champion from then on."""
    contract, task = model.contract, TASKS[model.contract.task]
    modality = get_modality(contract.profile) if contract.profile else None
    profile = modality.profile if modality else None
    raw_input = _raw_inputs(modality)
    metrics = ServingMetrics()
    metrics.serving(model)
    watcher = ChampionWatcher(config.source, model, on_swap=metrics.swapped)
    log = PredictionLog(config.log_path, column_types(_log_columns(model, profile, raw_input(model))))
    raw = raw_input(model)
    PredictRequest, PredictResponse = request_model(contract, config.max_batch, raw), response_model(task.item)
    guarded = [Depends(_api_key_guard(config.api_key))] if config.api_key else []

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        stop = threading.Event()
        poller = threading.Thread(target=watcher.poll, args=(config.poll_seconds, stop), name="champion-watcher", daemon=True)
        if config.poll_seconds > 0:
            poller.start()
        yield
        stop.set()
        log.close()

    app = FastAPI(
        title=f"mastery: {model.name}",
        description=f"The `{model.name}` champion over ONNX Runtime ({contract.task}). Input and output "
        "schemas come from the contract the model's ONNX file carries.",
        version=model.version,
        lifespan=lifespan,
        docs_url=None,  # add_docs: Swagger UI from local files
        redoc_url=None,
    )
    add_docs(app)

    @app.post("/predict", response_model=PredictResponse, dependencies=guarded, openapi_extra=openapi_body(PredictRequest),
              responses={400: {"model": ErrorBody}, 413: {"description": "Body over the size limit"},
                         415: {"description": "Not JSON"}, 422: {"model": ErrorBody}})
    async def predict(http: Request, response: Response):
        """Predict a batch. The answer names the model version that produced it, and its request id
        leads back to the run, data and code (`mastery lineage --request ID`)."""
        # Inline on the event loop, not in a worker thread: at batch 1 the model run and the log's
        # commit take about 0.1 ms, less than the hop to a thread costs (one A/B here, quickstart
        # MLP at c=32: 1,052 req/s inline, 459 in FastAPI's threadpool).
        request = parse_request(PredictRequest, http.headers.get("content-type"), await http.body())
        served = watcher.current  # this request's model, whatever swaps happen meanwhile
        served_raw = raw_input(served)  # its own tokenizer: a retrained model may have learnt another
        inputs = to_arrays(contract, request, served_raw)
        outputs = task.postprocess(served.contract, inputs, served.run(inputs))
        request_id = uuid.uuid4().hex
        sent = getattr(request, served_raw.name) if served_raw is not None else None
        columns = outputs.log_columns | (_profiled(profile, sent, inputs) if profile else {})
        log.append(request_id, served.name, served.version, columns)
        metrics.predicted(served, len(outputs.items))
        response.headers["X-Request-ID"], response.headers["X-Model-Version"] = request_id, served.version
        return {"request_id": request_id, "model": served.name, "version": served.version, "predictions": outputs.items}

    @app.get("/health")
    def health():
        """Alive: the process answers."""
        return {"status": "ok"}

    @app.get("/ready")
    def ready():
        """A verified model is loaded; `champion_error` says why it is not the champion, if it is not."""
        served = watcher.current
        return {"ready": True, "model": served.name, "version": served.version, "champion_error": watcher.error}

    @app.get("/metadata")
    def metadata():
        """The served version: lineage (run, data hash, params hash, commit), ONNX sha256, contract."""
        served = watcher.current
        return {"model": served.name, "version": served.version, **served.lineage, "onnx_sha256": served.sha256,
                "file": served.origin, "loaded_at": served.loaded_at, "contract": json.loads(served.contract.to_json())}

    @app.post("/admin/reload", dependencies=guarded, responses={409: {"description": "The champion cannot be loaded"}})
    async def reload():
        """Look at the champion alias now and swap to it if it moved (as the poller does)."""
        result = await run_in_threadpool(watcher.check)
        return JSONResponse(asdict(result), status_code=409 if result.error else 200)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request, error: RequestValidationError):
        errors = error.errors()
        if any(e["type"] == "json_invalid" for e in errors):
            message = next(e["msg"] for e in errors if e["type"] == "json_invalid")
            return JSONResponse({"detail": [{"field": "body", "message": message, "type": "json_invalid"}], "errors": 1}, 400)
        return JSONResponse(error_body(errors), 422)

    @app.exception_handler(InputError)
    async def unfit_input(request, error: InputError):
        return JSONResponse({"detail": [{"field": error.field, "message": error.message, "type": "input"}], "errors": 1}, 422)

    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes or default_body_limit(contract, config.max_batch, raw))
    metrics.instrument(app)  # outermost, so it counts the 413s too
    return app


def _raw_inputs(modality):
    """served model -> the raw input its contract takes (texts with its tokenizer), or None;
    made once per model version."""
    made: dict[str, object] = {}

    def raw_input(served: ServedModel):
        if modality is None:
            return None
        if served.sha256 not in made:
            made[served.sha256] = modality.raw_input(served.contract)
        return made[served.sha256]

    return raw_input


def _profiled(profile, raw_values, inputs: dict) -> dict:
    """The modality's profile of what was sent: the raw values (texts, profiled as validation
    profiles the training data), else the first input."""
    return profile(np.array(raw_values) if raw_values is not None else next(iter(inputs.values())))


def _log_columns(model: ServedModel, profile, raw) -> dict:
    """The task's and the profile's columns for one example: they fix the log's schema."""
    values = list(raw.example) if raw is not None else None
    inputs = raw.encode(values) if raw is not None else model.example_inputs()
    columns = TASKS[model.contract.task].postprocess(model.contract, inputs, model.run(inputs)).log_columns
    return columns | (_profiled(profile, values, inputs) if profile else {})


def _api_key_guard(expected: str):
    header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="Set by MASTERY_API_KEY on the server")

    def guard(key: str | None = Security(header)) -> None:
        if key is None or not hmac.compare_digest(key.encode(), expected.encode()):
            raise HTTPException(401, f"missing or wrong {API_KEY_HEADER} header", headers={"WWW-Authenticate": "APIKey"})

    return guard


# mastery on CPU: the pipeline, the Prefect cpu worker, the MLflow server and the model server.
# Build from the repository root:  docker build -f infra/cpu.Dockerfile -t mastery:cpu .
FROM python:3.11.7-slim-bookworm

# git: DVC and the lineage tags read the commit; nothing else is needed at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git=1:2.39.* \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 mastery
WORKDIR /home/mastery/app

# The pinned stack (torch==2.13.0 admits PyTorch's 2.13.0+cpu wheel: no CUDA in this image).
COPY --chown=mastery:mastery pyproject.toml constraints.txt README.md ./
COPY --chown=mastery:mastery src ./src
COPY --chown=mastery:mastery flows ./flows
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu -c constraints.txt .

COPY --chown=mastery:mastery . .
USER 1000
ENV DO_NOT_TRACK=true MLFLOW_DISABLE_TELEMETRY=true PREFECT_SERVER_ANALYTICS_ENABLED=false \
    DVC_NO_ANALYTICS=1 GX_ANALYTICS_ENABLED=false ORT_DISABLE_TELEMETRY=1 PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK CMD ["python", "-c", "import mastery"]
CMD ["mastery", "--help"]

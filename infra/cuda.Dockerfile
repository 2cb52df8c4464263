# mastery on an NVIDIA GPU: the Prefect gpu worker (train, tune, nas; bf16 autocast).
# Build from the repository root:  docker build -f infra/cuda.Dockerfile -t mastery:cuda .
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3.12=3.12.* python3.12-venv=3.12.* git=1:2.43.* \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1001 mastery
USER 1001
WORKDIR /home/mastery/app
ENV VIRTUAL_ENV=/home/mastery/venv
ENV PATH="$VIRTUAL_ENV/bin:$PATH"
RUN python3.12 -m venv "$VIRTUAL_ENV"

# torch==2.13.0 from PyPI is the CUDA build: the same pin as on CPU, the GPU wheel here.
COPY --chown=mastery:mastery pyproject.toml constraints.txt README.md ./
COPY --chown=mastery:mastery src ./src
COPY --chown=mastery:mastery flows ./flows
RUN pip install --no-cache-dir -c constraints.txt .

COPY --chown=mastery:mastery . .
ENV DO_NOT_TRACK=true MLFLOW_DISABLE_TELEMETRY=true PREFECT_SERVER_ANALYTICS_ENABLED=false \
    DVC_NO_ANALYTICS=1 GX_ANALYTICS_ENABLED=false ORT_DISABLE_TELEMETRY=1 PYTHONUNBUFFERED=1
HEALTHCHECK CMD ["python", "-c", "import torch; assert torch.cuda.is_available()"]
CMD ["mastery", "worker", "--pool", "gpu"]

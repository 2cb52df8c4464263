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

.PHONY: run vision transfer test test-all bench setup data-packages clean

## run: the quickstart pipeline end to end through DVC (PIPELINE=vision for Fashion-MNIST)
run: $(VENV)/.installed data-packages
	dvc repro export@$(PIPELINE)
	@echo
	@mastery lineage --pipeline $(PIPELINE)
	@echo
	@echo "Exports:    exports/$(PIPELINE)/  model.onnx, model.int8.onnx, parity.json"
	@echo "Reports:    reports/$(PIPELINE)/zoo.md, evaluation.json  reports/promotion/$(PIPELINE).json"
	@echo "            reports/validation/$(PIPELINE)/docs/index.html (data docs)"
	@echo "Next:       .venv/bin/dvc metrics show      .venv/bin/dvc plots show (dvc_plots/index.html)"
	@echo "            .venv/bin/mlflow ui --backend-store-uri sqlite:///mlflow.db   (http://127.0.0.1:5000)"
	@echo "            .venv/bin/dvc repro              (every default pipeline: quickstart, vision)"

vision: data-packages
	$(MAKE) run PIPELINE=vision

## transfer: the vision LeNet-5 adapted to 5,000 MNIST digits (reports/transfer/vision/)
transfer: $(VENV)/.installed data-packages
	dvc repro transfer

## test: the default (fast) test suite
test: $(VENV)/.installed data-packages
	$(BIN)/pytest

## test-all: including the slow tests (full Fashion-MNIST training)
test-all: $(VENV)/.installed data-packages
	$(BIN)/pytest -m "slow or not slow"

bench: $(VENV)/.installed data-packages
	$(BIN)/python benchmarks/trainer_vs_bare_loop.py

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -d $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

## data-packages: Fashion-MNIST from Debian, where apt is available and it is missing
data-packages:
	@if [ ! -d $(FASHION_MNIST) ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; \
	fi

clean:
	rm -rf data models reports metrics plots checkpoints mlflow.db mlartifacts dvc.lock

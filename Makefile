# Every target installs what it needs on first use: a fresh clone needs only python3 (>= 3.10) and make.
# Why make + venv rather than uv: both are on every machine we use, the venv is a plain folder that an
# IDE and a notebook kernel can point at, and pip's --isolated flag lets us take torch and torchvision
# from the package registry together (a machine-local CPU-only torch wheel would break torchvision).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip --isolated --disable-pip-version-check
STAMP  := $(VENV)/.installed
STUDY   ?= patch_size_low_data
PROFILE ?= demo

.PHONY: run test test-all lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The main job: one study through Ray Tune, every trial tracked in MLflow (./mlflow.db).
## Run again, it continues the same study (--resume): finished trials are kept, stopped ones go on.
RESUME = $(if $(wildcard runs/ray/$(STUDY)-$(PROFILE)/study.json),--resume)
run: $(STAMP)
	$(PY) -m study.run $(STUDY) --profile $(PROFILE) $(RESUME)

## The default test run (what CI runs): lint, then every test not marked slow or gpu.
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

## Every CPU test, the slow ones included.
test-all: $(STAMP)
	$(PY) -m pytest -m 'not gpu'

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

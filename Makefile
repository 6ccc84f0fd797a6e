# Every target creates .venv and installs what it needs: a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Deployment engines, each in its own environment as a team would have it (their pins
# clash with Hoist's): the bentoml, langgraph and modal strategies run their commands.
ENGINES := .engines
# PyTorch (the CPU build on this machine's disk), Lightning and transformers, for autolog's tests only:
# the demo does not need them.
ML_STAMP := $(VENV)/.ml-stamp
ENGINE_STAMPS := $(ENGINES)/bentoml/.stamp $(ENGINES)/langgraph/.stamp $(ENGINES)/modal/.stamp

.PHONY: demo test lint typecheck bench clean engines

$(STAMP): pyproject.toml scripts/system-deps.sh
	bash scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,ray,deploy]'
	touch $(STAMP)

$(ENGINES)/%/.stamp: scripts/engines/%.txt
	$(PYTHON) -m venv $(ENGINES)/$*
	$(ENGINES)/$*/bin/python -m pip install --quiet --upgrade pip
	$(ENGINES)/$*/bin/python -m pip install --quiet -r scripts/engines/$*.txt
	touch $@

engines: $(ENGINE_STAMPS)

$(ML_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,ray,deploy,autolog]'
	touch $@

demo: $(STAMP)
	$(BIN)/python examples/demo.py

# Two test workers: tests on the session's Ray head share one worker, other modules stay
# whole (tests/conftest.py groups them), so the suite waits on servers and Ray in parallel.
test: $(STAMP) $(ENGINE_STAMPS) $(ML_STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(ENGINES) .hoist-demo .pytest_cache .mypy_cache .ruff_cache

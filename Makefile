# Fulfil: the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
DEMO_SPEED ?= 10

.PHONY: run test venv lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Fulfil needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

## run: set up, then `fulfil demo`: migrate and seed the demo network (SQLite file by default), a private Mosquitto if
## installed, the API and pages on http://$(HOST):$(PORT), and a simulated network at work (DEMO_SPEED x); it prints
## the ops console's URL and token and the store app's URL and PIN, and runs until Ctrl-C (then a summary)
run: $(STAMP)
	$(BIN)/fulfil demo --host $(HOST) --port $(PORT) --speed $(DEMO_SPEED)

## test: set up and run the whole suite (import contracts, then pytest)
test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis

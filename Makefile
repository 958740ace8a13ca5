# The two README commands:  `make demo`  and  `make test`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# iqa does not use llama.cpp's multimodal library, tools, examples or tests: skip building them.
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DGGML_BUILD_TESTS=OFF -DGGML_BUILD_EXAMPLES=OFF
export OMP_NUM_THREADS ?= 1
STAMP := $(VENV)/.installed

.PHONY: install models demo test test-fast browser-deps bench clean-venv

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is required ($(PY) not found)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@echo "Installing iqa (the first install builds llama-cpp-python from source, ~4 min; later installs reuse pip's cached wheel)"
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

install: $(STAMP)

models: install
	$(BIN)/iqa models

demo: models
	$(BIN)/iqa ingest corpus
	$(BIN)/iqa ask "ROIAlign vs ROIPool?"

# The browser test drives Debian's chromium; install it once if it is missing (needs root or sudo).
browser-deps:
	@command -v chromium >/dev/null || { echo "Installing Debian's chromium for the browser test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get update -qq && \
	  $$SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

test: install browser-deps
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow and not browser"

bench: install
	$(BIN)/python bench/run_all.py

clean-venv:
	rm -rf $(VENV)

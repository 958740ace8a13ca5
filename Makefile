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

# The browser test drives Debian's chromium; the PDF tests typeset with Noto CJK and DejaVu Sans Mono.
# Installed once if missing (needs root or sudo).
browser-deps:
	@{ command -v chromium >/dev/null && test -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf \
	  && test -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc; } || { echo "Installing Debian's chromium and fonts for the browser and PDF tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get update -qq && \
	  $$SUDO apt-get install -y -qq chromium fonts-noto-cjk fonts-dejavu-core >/dev/null; }

test: install browser-deps
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow and not browser"

bench: install
	$(BIN)/python bench/run_all.py

clean-venv:
	rm -rf $(VENV)

# Mutation testing of the pure modules (not part of `make test`): mutmut, configured in pyproject.toml
# [tool.mutmut], mutates rag/prompt.py, rag/text.py, rag/retrieve.py, ingest/chunk.py, ingest/structure.py
# and eval/metrics.py in a copy under ./mutants and runs their fast tests against each mutant, one at a time.
MUTMUT_VERSION := 3.8.1
.PHONY: mutation
# Needs only an installed venv (not a fresh `install`: the [tool.mutmut] section must not trigger a reinstall).
mutation:
	@$(BIN)/python -c "import rag, ingest, eval" 2>/dev/null || $(MAKE) install
	@[ "$$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("mutmut"))' 2>/dev/null)" = "$(MUTMUT_VERSION)" ] \
	  || $(BIN)/pip install --quiet mutmut==$(MUTMUT_VERSION)
	rm -rf mutants
	@start=$$SECONDS; $(BIN)/mutmut run --max-children 1 > mutants.log 2>&1 \
	  || { tail -c 3000 mutants.log; exit 1; }; \
	echo "mutmut run: $$((SECONDS - start)) s (log: mutants.log)"
	@$(BIN)/mutmut results --all true > mutants/results.txt
	@printf "%-18s %14s %7s  %s\n" module killed/total share "(killed includes timeouts)"
	@awk -F': ' '/__mutmut_/ { key = $$1; sub(/^ +/, "", key); mod = key; sub(/\.[^.]*$$/, "", mod); total[mod]++; \
	    if ($$2 == "killed" || $$2 == "timeout") killed[mod]++; if ($$2 == "timeout") to[mod]++ } \
	  END { for (m in total) printf "%-18s %9d/%-4d %6.1f%%  %d timeout(s)\n", m, killed[m], total[m], 100 * killed[m] / total[m], to[m] }' \
	  mutants/results.txt | sort
	@awk -F': ' '/__mutmut_/ { n++; if ($$2 == "killed" || $$2 == "timeout") k++ } \
	  END { printf "%-18s %9d/%-4d %6.1f%%\n", "all", k, n, 100 * k / n }' mutants/results.txt
	@echo "Survivors: .venv/bin/mutmut results   (one mutant's diff: .venv/bin/mutmut show NAME)"

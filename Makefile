# Everything a fresh clone needs: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: serve test lint index bench install browser clean mutation train train-reader \
	ship-reader calibrate train-linker
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

index: install
	$(BIN)/citeqa index

serve: install
	$(BIN)/citeqa serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests bench train

# Browser tests drive Debian's Chromium with Playwright; never `playwright install`.
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		$(SUDO) apt-get install -y -qq chromium >/dev/null; }

test: install browser
	$(BIN)/ruff check src tests bench train
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/retrieval.py

# Fit the answer ranker on the SQuAD train slice; writes src/citeqa/qa/models/ranker.json.gz.
train: install
	$(BIN)/python -m pip install --quiet -e '.[train]'
	$(BIN)/python train/ranker.py

# Fit the learned value linker on the facts bench's tuning part only; writes
# src/citeqa/kb/models/linker.json.gz.
train-linker: install
	$(BIN)/python -m pip install --quiet -e '.[train]'
	$(BIN)/python train/linker.py

# Fine-tune the neural reader (hours on 2 cores; resumable: run again after a stop).
train-reader: install
	$(BIN)/python -m pip install --quiet -e '.[reader]'
	$(BIN)/python train/reader.py --threads 2

# Package the trained reader into src/citeqa/qa/models (reader.npz, reader-graph.onnx,
# reader.json), checked against torch; then fit the answer calibration for it.
ship-reader: install
	$(BIN)/python -m pip install --quiet -e '.[reader]'
	$(BIN)/python train/ship_reader.py

# Fit how the reader's answer is chosen and trusted (after ship-reader or train).
calibrate: install
	$(BIN)/python -m pip install --quiet -e '.[train]'
	$(BIN)/python train/calibrate.py

# Mutation testing of the index format, BM25 and passage cutting (not in CI; ~10 minutes).
mutation: install
	$(BIN)/python -m pip install --quiet -e '.[mutation]'
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) index/CURRENT index/v* index/.tmp-* .pytest_cache mutants

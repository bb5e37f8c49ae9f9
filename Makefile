# One command each: `make run` sets up and starts the app, `make test` runs every test.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/python:
	$(PY) -m venv $(VENV)

.PHONY: run test bench
run: $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/streamlit run app.py

test: $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	BPTT_OFFLINE=1 $(BIN)/python -m pytest

bench: $(BIN)/python
	$(BIN)/pip install -q -r requirements-bench.txt
	$(BIN)/python bench/core.py

# Every view × tab at 1440×900, 1280×720 presenting and 800×1000, into artifacts/gallery/ (index.html).
.PHONY: screenshots
screenshots: $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/python tools/screenshots.py

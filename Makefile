# The few commands people need. Every target sets up what it uses on first run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
CODE := src tests bench app.py

.PHONY: run chat ask index test test-fast lint format eval eval-all train train-scorer squad bench browser setup clean

run: chat

chat: $(STAMP)
	$(BIN)/python app.py

ask: $(STAMP)
	$(BIN)/egov-qa ask

index: $(STAMP)
	$(BIN)/egov-qa index

# Every tier CI can run (unit, model, browser, gate); none retrains. See docs/development.md.
test: lint browser
	$(BIN)/python -m pytest

# The unit tier: a deterministic fake embedder, no model, no browser, no whole deck read (under 3 minutes).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not model and not browser and not gate and not decks"

lint: $(STAMP)
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format $(CODE)
	$(BIN)/ruff check --fix $(CODE)

eval: $(STAMP)
	$(BIN)/egov-qa eval

eval-all: $(STAMP)
	$(BIN)/egov-qa eval --all

# The full retrain: the encoder tuning and its check, the answer scorer trained further on the eval
# sets fold by fold, the reader, its record and reports, and the README's held-out table (about two
# hours on 2 cores; 11 minutes once the scorers in index/scorers/ are there). A refit that does worse on
# the decks left out than the installed reader goes to index/candidate/ instead. The suite checks what
# it writes; it never reruns it.
train: $(STAMP) data/scorer/scorer.safetensors
	$(BIN)/egov-qa train --tune-scorer

# The answer scorer, trained on the SQuAD pool in evals/squad/ (public data; about an hour
# on 2 cores), into data/scorer/, with the float weights `train --tune-scorer` starts from.
train-scorer: $(STAMP)
	$(BIN)/egov-qa train-scorer

data/scorer/scorer.safetensors: $(STAMP)
	$(BIN)/egov-qa train-scorer

# SQuAD 2.0 exact match and F1 of the whole assistant on the SQuAD articles the scorer never saw.
squad: $(STAMP)
	$(BIN)/egov-qa squad

bench: $(STAMP)
	$(BIN)/python bench/bench.py

setup: $(STAMP)

# torch first and pinned: 2.13.0 is a local CPU build; anything else pulls CUDA.
# Each step says what it does: pip shows its bars on a terminal and one line a package in a log.
$(STAMP): pyproject.toml
	@echo "egov-qa: setting up $(VENV) (the first run downloads about 1 GB and takes a few minutes)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "egov-qa: [1/2] installing torch (CPU build)"
	$(BIN)/pip install --disable-pip-version-check --progress-bar on torch==2.13.0
	@echo "egov-qa: [2/2] installing egov-qa and its dependencies"
	$(BIN)/pip install --disable-pip-version-check --progress-bar on -e '.[dev]'
	touch $(STAMP)
	@echo "egov-qa: set up; the first start builds the index of the shipped deck"

# The browser test drives Debian's Chromium (a browser download cannot work offline).
# Without root (or apt) the browser test is skipped on a person's machine; CI runs as root.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser test"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "could not install chromium: the browser test will be skipped"; }

clean:
	rm -rf $(VENV) index/*.json index/*.faiss index/*.npy index/*.onnx bench/.corpus bench/.index

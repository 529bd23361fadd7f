# Two entry points for a fresh clone (see README):
#   make chat   set everything up, then open the chat
#   make test   set everything up, then run the whole test suite
# Both create or refresh the virtual environment in .venv/ whenever pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: chat test setup index eval bench reader clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@# Our own modules are installed editable; compile them once so that every start
	@# does not pay for it (PYTHONDONTWRITEBYTECODE may be set in the environment).
	$(BIN)/python -m compileall -q qa tui
	@touch $(STAMP)

chat: $(STAMP)
	$(BIN)/qa chat

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest --durations=15

index: $(STAMP)
	$(BIN)/qa index

eval: $(STAMP)
	$(BIN)/qa eval

bench: $(STAMP)
	$(BIN)/qa bench

# Retrain the reading model on SQuAD 2.0 train (the folder squad2/ under $QA_DATASETS; see README,
# "The reading model"): 2.3–7 hours on 2 CPUs (with or without AMX), resumable (run it again after an interruption);
# writes qa/neural/reader/weights/ and prints the dev metrics. ARGS passes options, e.g. ARGS="--device cuda".
reader: $(STAMP)
	$(BIN)/python -m qa.training $(ARGS)

clean:
	rm -rf $(VENV) embeddings/*/ .pytest_cache build/

# Two commands: `make demo` sets everything up and runs the sample campaign (dry run)
# on Prefect's embedded server; `make test` runs every test.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# No usage statistics from Prefect's server, wherever a command runs it.
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: setup demo test lint bench clean

setup: $(INSTALLED)

$(INSTALLED): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/python flows/outreach_multichannel.py

test: $(INSTALLED)
	bash tests/install_postgres.sh
	$(BIN)/python -m pytest

# Not part of `make test`: about 10 minutes; writes benchmarks/results.md.
bench: $(INSTALLED)
	$(BIN)/python benchmarks/bench_campaign.py

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache

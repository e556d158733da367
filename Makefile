# Everything a newcomer needs: `make run` and `make test` create .venv on their own.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# A fresh clone has no config.toml: the example (no token) runs the local playground.
CONFIG ?= $(if $(wildcard config.toml),config.toml,config.example.toml)
POT    ?= locales/messages.pot

.PHONY: run test lint typecheck unit catalogs extract update compile bench bench-reminders bench-relay bench-scale clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Compiled catalogs are build output: made from the committed .po files.
compile: $(STAMP)
	$(BIN)/pybabel compile --domain messages --directory locales --statistics

# The catalog test runs this target with its own interpreter: EXTRACT_DEPS= skips the setup.
EXTRACT_DEPS ?= $(STAMP)
extract: $(EXTRACT_DEPS)
	$(BIN)/pybabel extract --mapping babel.cfg --project daasao-bot --no-location \
		--sort-output --omit-header --keywords "lazy_gettext ngettext:1,2" \
		--output-file $(POT) bot handlers

update: extract
	$(BIN)/pybabel update --domain messages --input-file locales/messages.pot \
		--output-dir locales --no-fuzzy-matching --width 0 --ignore-obsolete
	$(BIN)/python scripts/fill_english.py

# After adding text: `make catalogs`, translate the new entries, `make compile`.
catalogs: update compile

run: compile
	$(BIN)/daasao run --config $(CONFIG)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite mostly waits on sockets, timers and child processes: it runs on TEST_WORKERS
# processes, and an idle one takes tests queued for a busy one. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 3
unit: compile
	$(BIN)/pytest -q $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist worksteal)

test: lint typecheck unit

bench: compile
	$(BIN)/python -m bench.run_all

# Start-up with 10,000 pending reminders and 1,000 fired at once; ARGS="--pending 500 …".
bench-reminders: compile
	$(BIN)/python -m bench.reminders $(ARGS)

# Relay CPU, latency and memory vs a bare copy bot, each in its own process, at 0 and 150 ms
# round trips; sizes: make bench-relay ARGS="--residents 20 --rate 5".
bench-relay: compile
	$(BIN)/python -m bench.relay $(ARGS)

# Ten years of a district (built once a day, cached in $TMPDIR/daasao): start-up, staff
# commands, the nightly purge and relay latency during it; make bench-scale ARGS="--tiny".
bench-scale: compile
	$(BIN)/python -m bench.scale $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache locales/*/LC_MESSAGES/*.mo

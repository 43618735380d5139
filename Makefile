# csreport — the two commands a new user needs:
#   make report   install, create demo data if absent, render the latest complete month
#   make test     install, run the test suite
# Both create/refresh a local virtual environment in .venv with Python 3.11+.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= data/demo
OUT    ?= reports
PERIOD ?= $(shell $(PYTHON) -c "import datetime as d; t=d.date.today().replace(day=1)-d.timedelta(days=1); print(t.strftime('%Y-%m'))")
# the 12 months before PERIOD, recorded once so the first report already has MoM and YoY comparisons
shift = $(shell $(PYTHON) -c "y, m = map(int, '$(PERIOD)'.split('-')); i = y * 12 + m - 1 + ($(1)); print(f'{i // 12:04d}-{i % 12 + 1:02d}')")
HISTORY := $(OUT)/history.sqlite

.PHONY: install report metrics test test-servers lint bench demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(DATA)/accounts.csv: | $(STAMP)
	$(BIN)/csreport demo --out $(DATA)

demo: $(DATA)/accounts.csv

metrics: $(STAMP) $(DATA)/accounts.csv
	$(BIN)/csreport metrics --data $(DATA) --period $(PERIOD)

$(HISTORY): | $(STAMP) $(DATA)/accounts.csv
	$(BIN)/csreport backfill --data $(DATA) --from $(call shift,-12) --to $(call shift,-1) --history $(HISTORY)

report: $(STAMP) $(DATA)/accounts.csv $(HISTORY)
	$(BIN)/csreport run --data $(DATA) --period $(PERIOD) --out $(OUT)

# The engine tests start a real PostgreSQL server (Debian's server binaries) and Spark in local mode
# (Java 17). Installed from Debian when missing and we may; otherwise the tests fail saying what to install.
test-servers:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } || true
	@command -v java >/dev/null 2>&1 || [ -n "$$JAVA_HOME" ] || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; } || true

test: $(STAMP) test-servers
	$(BIN)/python -m pytest -q -n auto --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check csreport tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'  # the Polars peer
	$(BIN)/python bench/run.py --skip-report  # `csreport run` is measured against its floor by run_floor.py
	$(BIN)/python bench/run_floor.py
	$(BIN)/python bench/sessions_cost.py  # what sessions add to `csreport metrics` (issue 11)
	$(BIN)/python bench/new_month.py  # a new month arriving as a Parquet part, scale 20 (issue 15)

clean:
	rm -rf $(VENV) reports data/demo .pytest_cache

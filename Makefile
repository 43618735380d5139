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

.PHONY: install report metrics test bench demo clean

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

report: $(STAMP) $(DATA)/accounts.csv
	$(BIN)/csreport run --data $(DATA) --period $(PERIOD) --out $(OUT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) reports data/demo .pytest_cache

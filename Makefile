# CryptoTracker: `make run` (real exchanges), `make demo` (local simulator), `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run demo test unit integration e2e lint bench soak services browser venv clean

# The development venv: what runs (requirements.txt) plus tests and tooling (requirements-dev.txt).
$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(BIN)/activate

venv: $(BIN)/activate

services:
	bash scripts/services.sh

browser:
	bash scripts/browser.sh

var:
	mkdir -p var

run: venv services var
	$(BIN)/python scripts/procfile.py > var/Procfile.run
	$(BIN)/honcho -f var/Procfile.run -d . start

# The demo keeps its data apart from a real run: own InfluxDB database, key and queue prefixes.
# It follows the default SYMBOLS, whose ETH-BTC closes triangles with the BTC and ETH pairs.
demo: export INFLUXDB_DB ?= cryptotracker_demo
demo: export KEY_PREFIX ?= ctdemo:
demo: export QUEUE_PREFIX ?= demo.
demo: venv services var
	$(BIN)/python scripts/procfile.py --demo > var/Procfile.demo
	$(BIN)/honcho -f var/Procfile.demo -d . start

test: venv services browser
	$(BIN)/python -m pytest

unit: venv
	$(BIN)/python -m pytest -m unit

integration: venv services
	$(BIN)/python -m pytest -m integration

e2e: venv services browser
	$(BIN)/python -m pytest -m e2e

# Every benchmark with short defaults (each prints its same-run baselines and ratios).
BENCH_SECONDS ?= 5
bench: venv services
	$(BIN)/python -m bench pipeline --seconds $(BENCH_SECONDS)
	$(BIN)/python -m bench latency --seconds $(BENCH_SECONDS)
	$(BIN)/python -m bench adapters --seconds 2
	$(BIN)/python -m bench fanout --seconds $(BENCH_SECONDS)
	$(BIN)/python -m bench engine --seconds $(BENCH_SECONDS)
	$(BIN)/python -m bench soak --seconds $(BENCH_SECONDS) --warmup 1 --sample-s 1

# The reliability soak: ten minutes at 5,000 quotes/s over eight venues (BENCHMARKS.md).
soak: venv services
	$(BIN)/python -m bench soak --seconds 600 --rate 5000

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf var/Procfile.* var/celerybeat-schedule*

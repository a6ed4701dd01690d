# The README's two commands: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-quick lint bench install install-dev migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt requirements-misp.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-misp.txt
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts

install: $(VENV)/.runtime node_modules/.package-lock.json
install-dev: $(VENV)/.dev node_modules/.package-lock.json

migrate: install
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput

## Serve the product on embedded defaults (SQLite, a worker and beat of its own) with the demo data.
run: migrate
	$(BIN)/python manage.py bootstrap
	@echo "Serving on http://$(HOST):$(PORT)/admin/ (Ctrl-C stops it)"
	$(BIN)/python manage.py workspace $(HOST):$(PORT)

## Every test: engine, database, worker, browser. DATABASE_URL / CELERY_BROKER_URL pick the services.
## Then the import's tests again on SQLite, so that the ORM writer meets the same contract as on PostgreSQL.
test: install-dev
	$(BIN)/pytest -n 2 --dist loadfile
	DATABASE_URL=sqlite://:memory: $(BIN)/pytest -n 2 --dist loadfile tests/detection/test_writer_contract.py tests/detection/test_run_results_contract.py \
		tests/detection/test_import.py

## The quick loop while iterating: skips tests marked slow or browser.
test-quick: install-dev
	$(BIN)/pytest -n 2 --dist loadfile -m "not slow and not browser"

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

bench: install-dev
	@for script in benchmarks/*.py; do case $$script in *generate_sample*) continue;; esac; \
		echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf var/staticfiles .pytest_cache .ruff_cache

# One-command entry points. `make run` and `make test` set everything up themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: venv run migrate demo lint format typecheck test bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

migrate: venv
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

## Start broker, web, bridge, worker and beat with demo data; API on http://$(HOST):$(PORT)/
run: demo
	PATH="$(CURDIR)/$(BIN):$$PATH" WEB_HOST=$(HOST) WEB_PORT=$(PORT) $(BIN)/honcho start -f Procfile

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: venv
	$(BIN)/mypy .

## Lint, type-check and run the whole suite on the local PostgreSQL, Redis and broker.
test: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/brokerage
test: export REDIS_URL ?= redis://127.0.0.1:6379/0
test: lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .hypothesis

## Load the whole stack on this machine (PostgreSQL + Redis + embedded broker); see bench/.
bench: venv
	$(BIN)/python bench/run.py $(BENCH_ARGS)

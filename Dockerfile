# One image for every process of the production-like stack (docker-compose.yml):
# web (granian), the Kafka->Celery bridge, Celery worker and beat, and the one-off
# management commands (migrate, kafka_init, seed_demo).
#
#   docker build --target runtime -t brokerage .     # the default (last) stage
#   docker build --target test -t brokerage-tests .  # + dev tools: ruff, mypy, pytest
#
# Stages: base (runtime dependencies only) -> test (adds requirements-dev.lock and the
# whole tree) and runtime (the project, collected static files).

# The base image is a build argument so that a machine without registry access can
# build on a locally made Debian image; its default is the exact upstream release.
ARG BASE_IMAGE=python:3.11.13-slim-bookworm
FROM ${BASE_IMAGE} AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# An unprivileged user runs everything; it owns only what the app writes: var/.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
        --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first so that code changes do not reinstall them: exactly the locked
# versions, each checked against its hash.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock


# --- test: `docker compose run --rm tests` -> ruff, mypy, pytest -----------------------
FROM base AS test

COPY requirements-dev.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements-dev.lock

# ruff, mypy, pytest and hypothesis write their caches next to the code.
COPY --chown=app:app . .
RUN mkdir -p var && chown app:app /app var

# The app account, by number: a name the host cannot resolve would not map.
USER 10001:10001
CMD ["sh", "-c", "ruff check . && ruff format --check . && mypy . && pytest"]


# --- runtime: web, bridge, worker, beat, management commands ---------------------------
FROM base AS runtime

# The code stays root-owned (read-only for the app user); var/ (static files) is the app's.
COPY . .
RUN mkdir -p var && chown app:app var

USER 10001:10001

# With the production settings (hashed, compressed files and their manifest); they want a
# real key and named hosts even to collect, so this step gets throwaway ones.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    ALLOWED_HOSTS=localhost DJANGO_SETTINGS_MODULE=brokerage.settings.production \
    python manage.py collectstatic --noinput

# Production settings by default: the container refuses to start without a real
# SECRET_KEY and named ALLOWED_HOSTS (docker-compose.yml passes them).
ENV DJANGO_SETTINGS_MODULE=brokerage.settings.production

EXPOSE 8000
# granian (Rust HTTP, WSGI): measured by `make bench` against gunicorn gthread with the
# same processes and threads, it served more requests per CPU second. Configured from
# the environment (GRANIAN_*, overridable per deployment): processes and threads, a
# worker that dies is respawned, on SIGTERM workers get 25 s to finish their requests,
# inside compose's 30 s stop grace for web, and granian's own lines (access log
# included) are JSON like the application's.
ENV GRANIAN_WORKERS=4 \
    GRANIAN_BLOCKING_THREADS=4 \
    GRANIAN_RESPAWN_FAILED_WORKERS=true \
    GRANIAN_WORKERS_KILL_TIMEOUT=25 \
    GRANIAN_LOG_CONFIG=/app/deploy/granian-logging.json
CMD ["granian", "--interface", "wsgi", "--host", "0.0.0.0", "--port", "8000", "--access-log", "brokerage.wsgi:application"]

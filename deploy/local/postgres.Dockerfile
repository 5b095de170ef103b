# A stand-in for the official postgres image (make compose-check): Debian's PostgreSQL,
# initialised on first start from POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB into
# /var/lib/postgresql/data, listening on every interface with password authentication.
ARG DEBIAN_IMAGE=brokerage-local/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql \
    && rm -rf /var/lib/apt/lists/*
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]

# A stand-in for the official python:3.11-slim image, for machines that cannot pull it
# (make compose-check): Debian bookworm's Python 3.11 with `python` and `pip` on PATH,
# in a virtualenv so pip may install into it. It trusts the building machine's CA bundle
# (host-ca.crt, copied in by compose_check.py), so that pip works behind a proxy that
# intercepts TLS as it does on the host.
ARG DEBIAN_IMAGE=brokerage-local/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /usr/local/python
COPY host-ca.crt /usr/local/share/host-ca.crt
ENV PATH=/usr/local/python/bin:$PATH \
    PIP_CERT=/usr/local/share/host-ca.crt \
    SSL_CERT_FILE=/usr/local/share/host-ca.crt

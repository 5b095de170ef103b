# A stand-in for the official redis image (make compose-check): Debian's redis-server,
# in /data, reachable from the other containers (protected mode off, as upstream's image
# has it), whatever command compose gives it.
ARG DEBIAN_IMAGE=brokerage-local/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data
WORKDIR /data
ENTRYPOINT ["/bin/sh", "-c", "exec \"$@\" --protected-mode no", "--"]
CMD ["redis-server"]

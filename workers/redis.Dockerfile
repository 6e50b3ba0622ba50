# Redis for compose.workers.yml where no registry answers: Debian bookworm's redis-server (7.0) on the
# local base image. Servers that can pull use the official redis:7.2.5 instead (BTB_REDIS_IMAGE).
ARG BASE=btb/debian:bookworm
FROM ${BASE}
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && mkdir -p /data && chown redis:redis /data
VOLUME /data
WORKDIR /data
USER redis
CMD ["redis-server", "--dir", "/data"]

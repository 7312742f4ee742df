# syntax=docker/dockerfile:1
# nks-operator image: `docker build -t nks-operator:0.1.0 .` (the release workflow builds
# it for linux/amd64 and linux/arm64 and pushes it to ghcr.io).
#
# Stage 1 (builder) fetches every dependency exactly as requirements.lock pins it (version
# and sha256: two builds of one commit get the same packages) and builds the project's
# wheel; stage 2 installs those wheels into a virtual environment with no network and no
# compiler, checking the hashes again, and runs as the non-root user 65532. tests/docker/
# repeats the same steps without a Docker engine. scripts/lock.sh regenerates the lock.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Only what the package is built from (.dockerignore keeps the rest out of the context).
# README.md is the package's long description; the glob lets a tree without it build too.
COPY requirements.lock pyproject.toml README.md* ./
COPY operator ./operator
# One wheel per locked dependency, as published (pip refuses any file whose hash is not in
# the lock, any dependency the lock lacks, and with --only-binary anything to compile),
# then the project's own: the runtime stage installs offline.
RUN python -m pip wheel --require-hashes --only-binary=:all: --wheel-dir /wheels \
      -r requirements.lock \
 && python -m pip wheel --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
ARG PYTHON_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="nks-operator" \
      org.opencontainers.image.description="Kubernetes operator for NHN Cloud's NHN Kubernetes Service (NKS)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"
ENV VIRTUAL_ENV=/opt/nks-operator \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# A virtual environment without pip: the base image's pip installs into it, from the
# builder's wheels only (--no-index), so nothing is fetched or compiled here: the locked
# dependencies, their hashes checked once more, then the project without dependencies of
# its own choosing. The wheels are bind-mounted, never copied into a layer. Bytecode is
# compiled now, at build time: at run time the root filesystem is read-only.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    --mount=type=bind,from=builder,source=/src/requirements.lock,target=/requirements.lock \
    python -m venv --without-pip "$VIRTUAL_ENV" \
 && python -m pip --python "$VIRTUAL_ENV/bin/python" install --no-index --find-links=/wheels \
      --require-hashes -r /requirements.lock \
 && python -m pip --python "$VIRTUAL_ENV/bin/python" install --no-index --find-links=/wheels \
      --no-deps nks-operator \
 && groupadd --gid 65532 nonroot \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin nonroot
ENV PATH="$VIRTUAL_ENV/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# kopf's liveness endpoint and the Prometheus metrics.
EXPOSE 8080 9090 9443
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["nks-operator"]
CMD ["run"]

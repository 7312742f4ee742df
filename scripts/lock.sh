#!/usr/bin/env bash
# Writes requirements.lock: the runtime dependencies of pyproject.toml ([project]
# dependencies, not the dev extra) and everything they need, each pinned to one version
# with the sha256 of every file PyPI serves for it. Resolved for Python 3.11 (the image's)
# on every platform, so one lock serves the linux/amd64 and linux/arm64 images. The
# Dockerfile installs exactly this (pip --require-hashes); a test checks it agrees with
# pyproject.toml.
#
# Run after changing the dependencies in pyproject.toml (pins that still fit are kept);
# `scripts/lock.sh --upgrade` moves every pin to the newest release that fits.
# Needs the dev environment (scripts/setup.sh installs uv) and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/uv pip compile pyproject.toml \
  --universal --python-version 3.11 --generate-hashes \
  --index-url https://pypi.org/simple \
  --custom-compile-command "scripts/lock.sh" \
  --output-file requirements.lock "$@"

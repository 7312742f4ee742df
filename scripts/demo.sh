#!/usr/bin/env bash
# The main job in one command, from a fresh clone: install what is missing, then run the
# NKS simulator + the operator + the examples until everything is Ready (Ctrl-C cleans up).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/nks-operator demo "$@"

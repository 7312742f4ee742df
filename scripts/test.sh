#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export NKS_KUBE_ASSETS="${KUBEBUILDER_ASSETS:-$(scripts/install-kube-binaries.sh)}"
.venv/bin/ruff check operator devtools bench tests
.venv/bin/ruff format --check operator devtools bench tests
.venv/bin/mypy  # strict, on the nks_operator package ([tool.mypy] in pyproject.toml)
exec .venv/bin/pytest -q -p no:cacheprovider "$@"

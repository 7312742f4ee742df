#!/usr/bin/env bash
# Everything the tests and the demo need, on a fresh Debian 12 machine: the virtual
# environment with the package, its dev tools and the development tools of devtools/ (NKS
# simulator, local kube-apiserver, demo: a distribution apart from the product), kubectl,
# and the kube-apiserver/etcd binaries (built once, then cached). Safe to run again; it
# only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/pip install -q -e '.[dev,demo]' -e ./devtools
tools="$(scripts/install-helm.sh --with-helm3)"; echo "setup: helm in $tools" >&2

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
if ! command -v kubectl >/dev/null 2>&1; then
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq kubernetes-client
fi
if ! command -v openssl >/dev/null 2>&1; then
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openssl
fi

assets="$(scripts/install-kube-binaries.sh)"
echo "setup: kube binaries in $assets" >&2

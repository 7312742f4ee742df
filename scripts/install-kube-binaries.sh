#!/usr/bin/env bash
# Provides kube-apiserver, kube-controller-manager and etcd for the test suite and the demo.
#
# Debian bookworm ships only kubectl from its `kubernetes` source package, but the source
# holds the whole tree, so the two server binaries are built from it once and cached.
# Output: a folder with kube-apiserver, kube-controller-manager and etcd, printed on stdout
# (default ~/.cache/nks-operator/kube-1.20-r2). With KUBEBUILDER_ASSETS set, nothing is built.
set -euo pipefail

# The folder name changes whenever the build recipe does, so stale builds are never reused.
CACHE="${NKS_KUBE_CACHE:-$HOME/.cache/nks-operator/kube-1.20-r2}"
log() { echo "install-kube-binaries: $*" >&2; }

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  for b in kube-apiserver etcd; do
    [ -x "$KUBEBUILDER_ASSETS/$b" ] || { log "KUBEBUILDER_ASSETS lacks $b"; exit 1; }
  done
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then $SUDO apt-get update -qq >&2; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >&2
}

mkdir -p "$CACHE"
# One build at a time: setup.sh and test.sh, or parallel sessions, may call this together;
# the second caller waits and then finds the binaries cached.
exec 9>"$CACHE/.lock"
flock 9
if [ ! -x "$CACHE/etcd" ]; then
  command -v etcd >/dev/null 2>&1 || apt_install etcd-server
  ln -sf "$(command -v etcd)" "$CACHE/etcd"
fi

if [ -x "$CACHE/kube-apiserver" ] && [ -x "$CACHE/kube-controller-manager" ]; then
  echo "$CACHE"
  exit 0
fi

log "building kube-apiserver and kube-controller-manager from Debian's kubernetes source (about 7 minutes, once)"
src_list=/etc/apt/sources.list.d/debian-src.sources
if ! grep -rqsE "^(deb-src|Types:.*deb-src)" /etc/apt/sources.list /etc/apt/sources.list.d/ ; then
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources | $SUDO tee "$src_list" >/dev/null
  else  # one-line style
    grep -hE '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
      | $SUDO tee /etc/apt/sources.list.d/debian-src.list >/dev/null
  fi
  apt_updated=""
fi
apt_install golang-go rsync golang-github-modern-go-reflect2-dev dpkg-dev

work="$(mktemp -d "${TMPDIR:-/tmp}/kube-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"  # apt-get source downloads as _apt when it can write here
cd "$work"
apt-get source --download-only kubernetes >&2
tarball="$(ls kubernetes_*.orig.tar.gz | head -n1)"
mkdir src
tar -xzf "$tarball" -C src --strip-components=1
cd src
# Go 1.19 crashes the vendored reflect2 1.0.1 (SIGSEGV in map iteration): use Debian's 1.0.2.
rm -rf vendor/github.com/modern-go/reflect2
cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 vendor/github.com/modern-go/reflect2
rm -f vendor/github.com/modern-go/reflect2/go.mod
# Built with a Go newer than 1.15, 1.20's vendored OpenAPI validators treat "" (a zero
# value) as null and reject it in custom resources (kubernetes/kubernetes#99804).
for f in vendor/k8s.io/kube-openapi/pkg/validation/validate/type.go \
         vendor/github.com/go-openapi/validate/type.go; do
  [ -f "$f" ] || continue
  sed -i 's/if data == nil || reflect.DeepEqual(reflect.Zero(reflect.TypeOf(data)), reflect.ValueOf(data)) {/if data == nil {/' "$f"
  grep -q 'if data == nil {' "$f" || { log "could not patch $f"; exit 1; }
done
mkdir -p .go/src/k8s.io
ln -s ../../.. .go/src/k8s.io/kubernetes
export GOPATH="$PWD/.go" CGO_ENABLED=0 GO111MODULE=off GOFLAGS=
export GOCACHE="$work/gocache"
cd .go/src/k8s.io/kubernetes
make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >&2
# Copy then rename: a half-copied binary must never look installed.
for b in kube-apiserver kube-controller-manager; do
  install -m 0755 "_output/bin/$b" "$CACHE/.$b.tmp"
  mv -f "$CACHE/.$b.tmp" "$CACHE/$b"
done
log "cached in $CACHE"
echo "$CACHE"

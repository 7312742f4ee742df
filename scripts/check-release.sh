#!/usr/bin/env bash
# Checks that a release tag names the version being released, and prints that version.
#
# Usage: scripts/check-release.sh TAG   (e.g. v0.1.0; the release workflow passes the tag
# that triggered it). The tag must be "v" + the chart's appVersion (the image tag the
# chart deploys by default), and pyproject.toml's version (the package in the image) must
# be the same: a release whose image, package and chart disagree is refused.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$#" -ne 1 ]; then
  echo "usage: $0 TAG" >&2
  exit 2
fi
tag="$1"
chart=helm/nks-operator/Chart.yaml
app="$(sed -n 's/^appVersion:[[:space:]]*"\{0,1\}\([^"[:space:]]*\)"\{0,1\}[[:space:]]*$/\1/p' "$chart")"
package="$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
if [ -z "$app" ] || [ -z "$package" ]; then
  echo "cannot read appVersion from $chart or version from pyproject.toml" >&2
  exit 1
fi
if [ "$tag" != "v$app" ]; then
  echo "tag $tag does not match the chart's appVersion $app: tag v$app, or change appVersion in $chart" >&2
  exit 1
fi
if [ "$package" != "$app" ]; then
  echo "pyproject.toml's version $package differs from the chart's appVersion $app: make them equal" >&2
  exit 1
fi
echo "$app"

#!/usr/bin/env bash
# Builds the OpenTelemetry Collector that CI tests the host config on (see builder-config.yaml) from the committed
# Go sources and go.sum, and caches the binary outside the clone by the hash of everything that goes into it, so a
# second run on the same machine takes no time. Prints the binary's path on stdout.
#   collector/build.sh          build if not cached, print the path
#   collector/build.sh --path   print the path it would have, build nothing (the tests use this to find it)
set -euo pipefail
cd "$(dirname "$0")"
cache="${INFERWATCH_CACHE:-$HOME/.cache/inferwatch}"
hash=$( (cat build.sh builder-config.yaml go.mod go.sum ./*.go; go env GOVERSION GOOS GOARCH) | sha256sum | cut -c1-16)
binary="$cache/otelcol-$hash"
if [ "${1:-}" = "--path" ]; then
  echo "$binary"
  exit 0
fi
if [ ! -x "$binary" ]; then
  mkdir -p "$cache"
  started=$(date +%s)
  echo "collector: building $(sed -n 's/^  name: //p' builder-config.yaml) $(sed -n 's/^  version: //p' builder-config.yaml) (Go module proxy, then go build; minutes on a fresh machine)" >&2
  go mod download
  downloaded=$(date +%s)
  # remove_all_sd leaves out the Prometheus service discoveries (Kubernetes, EC2, Azure, GCE, ...) that the prometheus
  # receiver links in by default: the host config scrapes static targets only, and they are most of the build time.
  # A config that used one would fail `validate` here (never pass wrongly): add its enable_<name>_sd tag then.
  go build -tags remove_all_sd -trimpath -buildvcs=false -ldflags='-s -w' -o "$binary.tmp.$$" .
  mv "$binary.tmp.$$" "$binary"
  echo "collector: modules in $((downloaded - started)) s, built in $(($(date +%s) - downloaded)) s: $binary" >&2
fi
echo "$binary"

#!/usr/bin/env bash
# Regenerates the collector's Go sources (main*.go, components.go, go.mod, go.sum) from builder-config.yaml with the
# OpenTelemetry Collector Builder at the manifest's release. Run after changing the manifest; commit the result.
# `go mod tidy -e`: some contrib modules' tests import helper modules (pkg/golden, pkg/xk8stest) that the Go module
# proxy does not serve at every release; the binary does not need them.
set -euo pipefail
cd "$(dirname "$0")"
version=$(sed -n 's/^  version: //p' builder-config.yaml)
go run "go.opentelemetry.io/collector/cmd/builder@v${version}" --config builder-config.yaml --skip-compilation --skip-get-modules
go mod tidy -e

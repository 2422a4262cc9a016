/**
 * The ADOT collector release the SSM document installs (Distributor package `AWSDistroOTel-Collector`, parameter
 * `version`). Pinned, so that a host runs what CI tested: `collector/builder-config.yaml` builds the upstream
 * OpenTelemetry Collector components this release is made of, and the tests validate and run the config on it.
 * Raising it means: read the release's go.mod, move the builder manifest to the closest upstream release the Go
 * module proxy serves, run `collector/generate.sh`, and let CI run the collector tests.
 */
export const ADOT_VERSION = 'v0.49.0';

/** The upstream collector release ADOT_VERSION is built on (its go.mod: go.opentelemetry.io/collector/otelcol). */
export const ADOT_UPSTREAM_COLLECTOR = 'v0.156.0';

/** The Distributor package the document installs. */
export const ADOT_PACKAGE = 'AWSDistroOTel-Collector';

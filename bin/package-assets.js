#!/usr/bin/env node
// The rest of the build after tsc: the data files the compiled code reads beside itself (catalog, rules,
// templates), and the two Lambda bundles, so the installed package needs neither its sources nor esbuild.
'use strict';
const { cpSync } = require('node:fs');
const { join } = require('node:path');
const esbuild = require('esbuild');

const root = join(__dirname, '..');
const dist = join(root, 'dist');
for (const file of [
  'lambda/bridge/catalog/default-catalog.yaml',
  'lambda/bridge/sources/promql/promql-metrics.yaml',
  'lib/config/service-regions.yaml',
  'lib/prometheus-workspace/inferwatch.rules.yaml',
  'lib/prometheus-workspace/inferwatch.alerts.yaml',
  'lib/prometheus-workspace/alertmanager.yaml',
  'lib/neuron-collector/collector-config.yaml',
  'lib/neuron-collector/neuron-monitor.service',
]) {
  cpSync(join(root, file), join(dist, file));
}

// The same options the constructs give CDK's bundling in a checkout.
for (const name of ['bridge', 'grafana-provisioner']) {
  esbuild.buildSync({
    entryPoints: [join(root, 'lambda', name, 'handler.ts')],
    outfile: join(dist, 'lambda-bundles', name, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'warning',
  });
}
cpSync(join(root, 'lambda/bridge/catalog/default-catalog.yaml'), join(dist, 'lambda-bundles', 'bridge', 'default-catalog.yaml'));
cpSync(join(root, 'lambda/bridge/sources/promql/promql-metrics.yaml'), join(dist, 'lambda-bundles', 'bridge', 'promql-metrics.yaml'));

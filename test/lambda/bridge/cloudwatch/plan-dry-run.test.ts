import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../../../contract/bridge-config';
import { Catalog } from '../../../../lambda/bridge/catalog/catalog';
import { QueryPlan } from '../../../../lambda/bridge/cloudwatch/plan';
import { runCycle } from '../../../../lambda/bridge/cycle';
import { createCycleDeps, createWarmCaches } from '../../../../lambda/bridge/runtime';
import { AwsStandIn } from '../../../support/stand-ins/aws-stand-in';
import { buildMetrics, fleetOf } from '../../../support/stand-ins/fleet';

// A dry run writes the text exposition as the reads come: each family must be in one run across every call, so a dry
// run plans its calls in family order (next-fit), where a real cycle packs them to the fewest.

const MINUTE = 60_000;
const fleet = fleetOf(200);
const standIn = new AwsStandIn(fleet, { recordBodies: false });
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
let dir: string;

beforeAll(async () => {
  await standIn.start();
  Object.assign(process.env, standIn.env());
  dir = mkdtempSync(join(tmpdir(), 'inferwatch-plan-dry-run-'));
});

afterAll(async () => {
  for (const key of Object.keys(standIn.env())) delete process.env[key];
  await standIn.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a dry run of 200 variants: one HELP and TYPE per family, though packed calls would split families', async () => {
  const config = resolveConfig({ remoteWrite: { url: 'http://127.0.0.1:1/unused' }, state: { type: 'file', directory: dir }, sagemakerMetadata: false }, process.env);
  const catalog = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor', config.latency);
  // The packed plan of the same metrics interleaves families: a dry run in that order would repeat HELP and TYPE.
  const metrics = buildMetrics(fleet).map(({ namespace, metricName, dimensions }) => ({ namespace, metricName, dimensions }));
  const order = [...new QueryPlan(metrics, catalog, {}, config.maxLabelValueLength).chunks()].flat().map((q) => catalog.familyOf(q.labels[0]?.value ?? '')?.family);
  const runs = order.filter((family, i) => family !== order[i - 1]);
  expect(runs.length).toBeGreaterThan(new Set(runs).size);

  const now = Math.floor(Date.now() / MINUTE) * MINUTE;
  const { deps, catalog: cycleCatalog } = createCycleDeps(config, { logger: quiet, env: process.env, caches: createWarmCaches(), deadline: () => Date.now() + MINUTE, now: () => now }, false);
  let text = '';
  await runCycle(config, cycleCatalog, { ...deps, output: (chunk) => void (text += chunk) }, { dryRun: true });
  const types = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
  expect(types.length).toBeGreaterThan(20);
  expect(types.filter((family, i) => types.indexOf(family) !== i)).toEqual([]);
});

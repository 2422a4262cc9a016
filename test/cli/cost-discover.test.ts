import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main';
import { Catalog } from '../../lambda/bridge/catalog/catalog';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { fleetOf, type MetricDef } from '../support/stand-ins/fleet';

// `inferwatch cost --discover` against the CloudWatch stand-in (ListMetrics only): the discovered fleet priced with
// the same levers (idle variants, read intervals, --idle) as `--variants N`.

const VARIANTS = 40;
const catalog = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor', 'histogram');
const REAL_TIME = new Set(['AWS/SageMaker', '/aws/sagemaker/Endpoints']);

/**
 * The stand-in fleet reshaped to publish exactly what `--variants N` counts: every real-time metric the catalog lists,
 * for every variant, and nothing else (no Neuron hosts, no metric outside the catalog).
 */
function listedOnly(metrics: MetricDef[]): MetricDef[] {
  const listed = new Set(catalog.listedMetrics(true).flatMap(([namespace, names]) => (REAL_TIME.has(namespace) ? names.map((name) => `${namespace}|${name}`) : [])));
  const kept = metrics.filter((m) => listed.has(`${m.namespace}|${m.metricName}`));
  const variants = new Map(kept.filter((m) => m.metricName === 'Invocations').map((m) => [JSON.stringify(m.dimensions), m.dimensions]));
  const present = new Set(kept.map((m) => `${m.namespace}|${m.metricName}|${JSON.stringify(m.dimensions)}`));
  const added: MetricDef[] = [];
  for (const key of listed) {
    const [namespace, metricName] = key.split('|') as [string, string];
    for (const [id, dimensions] of variants) {
      if (!present.has(`${key}|${id}`)) added.push({ namespace, metricName, dimensions, value: (stat) => (stat === 'Average' || stat === 'Maximum' ? 1 : undefined) });
    }
  }
  return [...kept, ...added];
}

const standIn = new AwsStandIn({ ...fleetOf(VARIANTS), neuronHosts: [], scenario: listedOnly }, { recordBodies: true });
let work: string;
let config: string;

beforeAll(async () => {
  await standIn.start();
  work = mkdtempSync(join(tmpdir(), 'inferwatch-cost-discover-'));
  config = join(work, 'bridge.yaml');
  writeFileSync(config, 'region: us-east-2\nremoteWrite:\n  url: http://127.0.0.1:1/unused\n');
  Object.assign(process.env, standIn.env());
});

afterAll(async () => {
  for (const key of Object.keys(standIn.env())) delete process.env[key];
  await standIn.stop();
  rmSync(work, { recursive: true, force: true });
});

async function cost(...args: string[]): Promise<string> {
  let out = '';
  let err = '';
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  try {
    const code = await main(['node', 'inferwatch', 'cost', '--config', config, ...args]);
    expect({ code, err }).toEqual({ code: 0, err: '' });
    return out;
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    process.exitCode = undefined;
  }
}

/** The estimate's table, from its header to the Lambda's bill: what both paths must agree on. */
function estimate(out: string): string {
  return out.slice(out.indexOf('approach '), out.indexOf('\nIdle variants'));
}

/** The dollar figures of the lever table, row by row. */
function leverFigures(out: string): number[][] {
  const table = out.slice(out.indexOf('\nIdle variants'), out.indexOf('\nLatency as histogram'));
  return table
    .split('\n')
    .filter((line) => /^\d+ %/.test(line))
    .map((line) => [...line.matchAll(/\$(\d+\.\d\d)/g)].map((m) => Number(m[1])));
}

describe('inferwatch cost --discover', () => {
  test.each([['0'], ['0.5'], ['0.9']])('idle %s: the discovered estimate equals the --variants estimate of the same fleet, with the same levers', async (idle) => {
    standIn.calls.length = 0;
    const discovered = await cost('--discover', '--idle', idle);
    // ListMetrics only: the estimate reads no datapoint.
    expect(new Set(standIn.calls.map((c) => c.target.split('.').pop()))).toEqual(new Set(['ListMetrics']));
    const counted = await cost('--variants', String(VARIANTS), '--idle', idle);
    expect(estimate(discovered)).toBe(estimate(counted));
    expect(estimate(discovered)).toContain('inferwatch bridge, every 5 min');
  });

  test('the output says which levers were applied: the idle share, the sentinels, the read intervals', async () => {
    const out = await cost('--discover', '--idle', '0.5');
    expect(out).toContain(`(${VARIANTS} production variants): `);
    expect(out).toContain(`% of the time idle`);
    expect(out).toMatch(new RegExp(`with the levers applied [\\d.]+ queries a cycle on average \\([\\d.]+ metrics of up to 5 statistics\\), 50 % of the time idle \\(idleVariants: sentinel, read through ${VARIANTS} sentinels when idle\\), read intervals counters every cycle, latency 10 min, utilization 10 min, other every cycle`));
  });

  test('the lever table (--idle 0,0.5,0.9) prices the discovered fleet: the per-variant table times the variants', async () => {
    const discovered = await cost('--discover', '--idle', '0,0.5,0.9');
    const counted = await cost('--variants', String(VARIANTS), '--idle', '0,0.5,0.9');
    expect(discovered).toContain(`each lever alone and together, for the discovered fleet (${VARIANTS} production variants`);
    const fleet = leverFigures(discovered);
    const perVariant = leverFigures(counted);
    expect(fleet).toHaveLength(12);
    expect(fleet.map((row) => row.length)).toEqual(perVariant.map((row) => row.length));
    // Printed to the cent: a variant's cent of rounding is VARIANTS / 2 cents on the fleet.
    for (const [r, row] of fleet.entries()) for (const [c, usd] of row.entries()) expect(Math.abs(usd - (perVariant[r]?.[c] ?? NaN) * VARIANTS)).toBeLessThanOrEqual(VARIANTS * 0.005 + 0.005);
    // The levers save: at 90 % idle, both together cost less than every metric every cycle.
    const [before, , , both] = fleet.slice(8);
    expect(both?.[0]).toBeLessThan((before?.[0] ?? 0) * 0.5);
  });
});

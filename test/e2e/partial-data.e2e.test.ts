import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStateStore } from '../../lambda/bridge/state/file-state-store';
import { decodeState } from '../../lambda/bridge/state/state';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { defaultFleet, type Dimension } from '../support/stand-ins/fleet';
import { LocalPrometheus } from '../support/harness/prometheus';
import { runBridge } from '../support/harness/run-bridge';

const MINUTE = 60_000;
const SM = 'AWS/SageMaker';
/** Every series the bridge forwards, not its own metrics (their values differ between two runs by nature). */

function dimensions(endpoint: string, variant: string): Dimension[] {
  return [
    { Name: 'EndpointName', Value: endpoint },
    { Name: 'VariantName', Value: variant },
  ];
}

/**
 * GetMetricData answers that stop at 150 datapoints with `PartialData` and no NextToken, for one cycle that reads 20
 * minutes (more than the 10-minute revision window). The same cycles run twice against the same CloudWatch stand-in,
 * once with the fault and once without, each into a Prometheus of its own: after the following cycles, every sample
 * of every forwarded series (counters and gauges) must be the same in both, and the counters equal CloudWatch's sums.
 * Before the cut cycle CloudWatch revises a period every variant's invocations counter has already forwarded: a
 * series whose answer stops before that period must still count the revision, in the next cycle.
 */
describe('PartialData without a NextToken, end to end on a real Prometheus', () => {
  const fleet = defaultFleet();
  const standIn = new AwsStandIn(fleet);
  const faulted = new LocalPrometheus();
  const control = new LocalPrometheus();
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-partial-'));
  // Two hours back, so every cycle's "now" is in the past and Prometheus accepts every timestamp.
  const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 120 * MINUTE;
  // The first cycle reads the 15-minute initial lookback up to 2 minutes (settle) before its now.
  const start1 = t0 - 17 * MINUTE;
  let env: Record<string, string>;

  const setUp = (name: string, prometheus: LocalPrometheus) => {
    const configFile = join(work, `${name}.yaml`);
    // Every class every cycle: a partial answer makes every class due in the next cycle, which would set the two
    // bridges' less frequent classes out of step at the moment the samples are compared.
    writeFileSync(configFile, `accountId: "123456789012"\nreadIntervals:\n  latency: 0\n  utilization: 0\nremoteWrite:\n  url: ${prometheus.remoteWriteUrl}\n  maxSamplesPerRequest: 5000\n`);
    return (now: number) => runBridge(['--once', '--config', configFile, '--state-dir', join(work, name), '--now', String(now)], env);
  };

  beforeAll(async () => {
    await standIn.start();
    await Promise.all([faulted.start(), control.start()]);
    env = standIn.env();
  });

  afterAll(async () => {
    await Promise.all([faulted.stop(), control.stop()]);
    await standIn.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('every counter ends at CloudWatch sum and no gauge period is lost once the truncated periods are read again', async () => {
    const cycles = [t0, t0 + 20 * MINUTE, t0 + 25 * MINUTE, t0 + 30 * MINUTE];
    const bridges = { faulted: setUp('faulted', faulted), control: setUp('control', control) };
    // Forwarded by the first cycle (its window ends at t0 - 2 min), inside the second cycle's read (from t0 - 12 min).
    const revised = t0 - 5 * MINUTE;
    let warned = '';
    for (const [i, now] of cycles.entries()) {
      if (i === 1) {
        for (const endpoint of fleet.endpoints) {
          for (const variant of endpoint.variants) {
            const d = dimensions(endpoint.name, variant.name);
            standIn.setValue(SM, 'Invocations', d, 'Sum', revised, (standIn.valueAt(SM, 'Invocations', d, 'Sum', revised) ?? 0) + 17);
          }
        }
      }
      for (const name of ['control', 'faulted'] as const) {
        standIn.cloudwatch.partialDataAfter = name === 'faulted' && i === 1 ? 150 : undefined;
        const run = await bridges[name](now);
        expect({ name, cycle: i, code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ name, cycle: i, code: 0, stderr: '' });
        if (name === 'faulted' && i === 1) {
          warned = run.stdout + run.stderr;
          // Some answers stopped before their series' frontier: those series were held for the next cycle.
          const { bytes } = await new FileStateStore(join(work, 'faulted')).load();
          expect(bytes && decodeState(bytes, 'faulted').heldBase).toBe(start1 + 5 * MINUTE);
        }
      }
    }
    standIn.cloudwatch.partialDataAfter = undefined;
    // The fault did happen: the cut answers were noticed.
    expect(warned).toContain('PartialData');

    const end = t0 + 28 * MINUTE;
    const [got, want] = await Promise.all([faulted.forwardedSamples(end), control.forwardedSamples(end)]);
    expect(want.size).toBeGreaterThan(100);
    const differing = [...want].filter(([key, values]) => JSON.stringify(got.get(key)) !== JSON.stringify(values)).map(([key]) => key);
    expect({ differing: differing.length, of: want.size, first: differing.slice(0, 3) }).toEqual({ differing: 0, of: want.size, first: [] });
    expect(got.size).toBe(want.size);

    // And against CloudWatch itself: each variant's invocations counter holds the Sum of every period it covers.
    for (const endpoint of fleet.endpoints) {
      for (const variant of endpoint.variants) {
        const d = dimensions(endpoint.name, variant.name);
        const [series] = await faulted.rawSamples(`aws_sagemaker_invocations_total{endpoint_name="${endpoint.name}",variant_name="${variant.name}"}[3h]`, end);
        let sum = 0;
        for (let t = start1; t < end; t += MINUTE) sum += standIn.cloudwatch.valueAt(SM, 'Invocations', d, 'Sum', t) ?? 0;
        expect({ variant: `${endpoint.name}/${variant.name}`, total: series?.values.at(-1)?.[1] }).toEqual({ variant: `${endpoint.name}/${variant.name}`, total: sum });
      }
    }
  }, 300_000);
});

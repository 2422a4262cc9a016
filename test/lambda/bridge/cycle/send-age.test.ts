import { CloudWatchClient, GetMetricDataCommand, ListMetricsCommand, type GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { Catalog } from '../../../../lambda/bridge/catalog/catalog';
import { DiscoveryCache } from '../../../../lambda/bridge/cloudwatch/discovery';
import { resolveConfig } from '../../../../contract/bridge-config';
import { runCycle, type CycleDeps } from '../../../../lambda/bridge/cycle';
import type { BridgeLogger } from '../../../../lambda/bridge/logger';
import { decodeWriteRequest } from '../../../../lambda/bridge/remote-write/encode';
import { MemoryStateStore } from '../../../support/stand-ins/memory-state-store';

const MIN = 60_000;
const T = 1_800_000_000_000 - (1_800_000_000_000 % MIN);
const cw = mockClient(CloudWatchClient);
const catalog = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor');
const quiet: BridgeLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const config = resolveConfig(
  { remoteWrite: { url: 'http://127.0.0.1:9090/api/v1/write', maxSamplesPerRequest: 2 }, namespaces: ['AWS/SageMaker', '/aws/sagemaker/Endpoints', 'neuron_monitor'], sagemakerMetadata: false },
  { AWS_REGION: 'us-east-1' },
);
const MAX_AGE = config.remoteWrite.maxSampleAge * 1000;

beforeEach(() => {
  cw.reset();
  cw.on(ListMetricsCommand).resolves({
    Metrics: [{ MetricName: 'Invocations', Dimensions: [{ Name: 'EndpointName', Value: 'e' }, { Name: 'VariantName', Value: 'v' }] }],
  });
  cw.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => {
    const timestamps: Date[] = [];
    for (let t = (input.StartTime as Date).getTime(); t < (input.EndTime as Date).getTime(); t += MIN) timestamps.push(new Date(t));
    return { MetricDataResults: input.MetricDataQueries?.map((q) => ({ Id: q.Id, Timestamps: timestamps, Values: timestamps.map(() => 2), StatusCode: 'Complete' })) };
  });
});

/**
 * A catch-up whose clock moves while it sends (a long cycle: a minute a request here), like a Lambda near its
 * timeout: the plan's `writableFrom` is the receiver's bound when the cycle started, not when its last requests go.
 */
describe('the receiver bound at send time', () => {
  test('a catch-up sends no sample older than maxSampleAge at the moment it is sent; those are counted as skipped, and counters stay exact', async () => {
    let now = T - 80 * MIN;
    let advancePerSend = 0;
    const tooOldAtSend: number[] = [];
    const newest = new Map<string, { timestamp: number; value: number }>();
    const deps: CycleDeps = {
      cloudwatch: new CloudWatchClient({ region: 'us-east-1' }),
      store: new MemoryStateStore(),
      send: async (body) => {
        for (const series of decodeWriteRequest(body)) {
          for (const sample of series.samples) if (sample.timestamp < now - MAX_AGE) tooOldAtSend.push(sample.timestamp);
          const name = series.labels[0]?.value ?? '';
          const last = series.samples.at(-1);
          if (last && name.endsWith('_total') && !name.startsWith('inferwatch_bridge_')) newest.set(JSON.stringify(series.labels), last);
        }
        now += advancePerSend;
        return { status: 'ok', attempts: 1 };
      },
      now: () => now,
      deadline: () => Date.now() + 60_000,
      logger: quiet,
      discoveryCache: new DiscoveryCache(),
      baseLabels: { region: 'us-east-1' },
    };
    await runCycle(config, catalog, deps);
    // An hour's outage, then a catch-up cycle whose clock moves a minute with every request it sends.
    now = T;
    advancePerSend = MIN;
    const catchUp = await runCycle(config, catalog, deps);
    expect(tooOldAtSend).toEqual([]);
    expect(catchUp.skippedTooOld).toBeGreaterThan(0);
    // The next cycle, on time: whatever was skipped, each counter's newest sample is CloudWatch's whole sum.
    advancePerSend = 0;
    now += 5 * MIN;
    const after = await runCycle(config, catalog, deps);
    expect(after.highWaterMark).toBeDefined();
    expect(tooOldAtSend).toEqual([]);
    // Every period is 2, from the first cycle's lookback (T - 97 min) on.
    expect(newest.size).toBeGreaterThan(0);
    for (const [series, last] of newest) expect({ series, value: last.value }).toEqual({ series, value: 2 * ((last.timestamp - (T - 97 * MIN)) / MIN + 1) });
  });
});

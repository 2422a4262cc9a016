import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStateStore } from '../../lambda/bridge/state/file-state-store';
import { decodeJournalRecord, type ReplayRequest } from '../../lambda/bridge/state/journal';
import { decodeLease } from '../../lambda/bridge/state/lease';
import { decodeState } from '../../lambda/bridge/state/state';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { defaultFleet, ODD_INSTANCE_NAME, type Dimension } from '../support/stand-ins/fleet';
import { LocalPrometheus } from '../support/harness/prometheus';
import { KillAfterWriteProxy, LoseResponseProxy, runBridge, spawnBridge } from '../support/harness/run-bridge';

const MINUTE = 60_000;
const SM = 'AWS/SageMaker';
const ACCOUNT = '123456789012';

/** 24 extra endpoints push the plan past 500 queries, so a cycle needs two GetMetricData calls. */
const fleet = defaultFleet('neuron_monitor', 24);
const variants = fleet.endpoints.flatMap((e) => e.variants.map((v) => ({ endpoint: e.name, variant: v.name })));
const dims = (endpoint: string, variant: string): Dimension[] => [
  { Name: 'EndpointName', Value: endpoint },
  { Name: 'VariantName', Value: variant },
];
const BLUE = dims('churn-predictor', 'blue');
const GREEN = dims('churn-predictor', 'green');

describe('bridge end to end: CLI -> CloudWatch stand-in -> real Prometheus', () => {
  const standIn = new AwsStandIn(fleet);
  const prometheus = new LocalPrometheus();
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-e2e-'));
  const stateDir = join(work, 'state');
  const configFile = join(work, 'inferwatch.yaml');
  // Two hours back, so every cycle's "now" is in the past and Prometheus accepts every timestamp.
  const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 120 * MINUTE;
  const start1 = t0 - 17 * MINUTE;
  const end1 = t0 - 2 * MINUTE;
  let env: Record<string, string>;

  /** What the counter should read after the period starting at `upToMs`: CloudWatch's Sum of every period since `start1`. */
  const expectedTotal = (metric: string, d: Dimension[], upToMs: number) => {
    let total = 0;
    for (let t = start1; t <= upToMs; t += MINUTE) total += standIn.valueAt(SM, metric, d, 'Sum', t) ?? 0;
    return total;
  };
  const bridge = (now: number, extra: string[] = []) => runBridge(['--once', '--config', configFile, '--state-dir', stateDir, '--now', String(now), ...extra], env);
  const selector = (endpoint: string, variant: string) => `{endpoint_name="${endpoint}",variant_name="${variant}"}`;
  /**
   * One invocations sample per period from the 0 baseline up to `end`: nothing missing, nothing twice. Green's
   * withheld period, published late, has its own sample too: it was newer than anything green had written.
   */
  const everyPeriodOnce = async (endpoint: string, variant: string, end: number) => {
    const [series] = await prometheus.rawSamples(`aws_sagemaker_invocations_total${selector(endpoint, variant)}[2h]`, end);
    const expected = Array.from({ length: (end - start1) / MINUTE + 1 }, (_, i) => start1 - MINUTE + i * MINUTE);
    expect(series?.values.map(([t]) => t)).toEqual(expected);
    return series;
  };
  const storedState = () => decodeState(readFileSync(join(stateDir, 'bridge-state.bin')).subarray(8), stateDir);
  // The journal lease: a file of its own beside the state (the first 8 bytes its generation).
  const storedLease = () => decodeLease(readFileSync(join(stateDir, 'bridge-lease.bin')).subarray(8), stateDir);

  beforeAll(async () => {
    await standIn.start();
    await prometheus.start();
    env = standIn.env();
    // Every class of metric every cycle: these cycles check each cycle's revisions and stale markers as it runs.
    // Classes read less often are checked by test/e2e/idle-variants.e2e.test.ts and the runCycle property.
    writeFileSync(configFile, `accountId: "${ACCOUNT}"\nreadIntervals:\n  latency: 0\n  utilization: 0\nremoteWrite:\n  url: ${prometheus.remoteWriteUrl}\n  maxSamplesPerRequest: 5000\n`);
    standIn.datapointsPerPage = 4000;
    standIn.listMetricsPageSize = 100;
  });

  afterAll(async () => {
    await prometheus.stop();
    await standIn.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('an invalid config is rejected before any API call, naming the key', async () => {
    const bad = join(work, 'bad.yaml');
    writeFileSync(bad, 'period: 45\nsettle: -10\nremoteWrite:\n  url: not a url\ncolour: blue\n');
    const run = await runBridge(['--once', '--config', bad, '--state-dir', stateDir], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('config key "period"');
    expect(run.stderr).toContain('config key "settle": must not be negative');
    expect(run.stderr).toContain('config key "remoteWrite.url": must be an absolute http(s) URL');
    expect(run.stderr).toContain('unknown config key "colour"');
    expect(standIn.calls).toHaveLength(0);
  });

  test('--dry-run prints the exposition and writes nothing', async () => {
    const run = await runBridge(['--dry-run', '--config', configFile, '--state-dir', join(work, 'dry'), '--now', String(t0)], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('# TYPE aws_sagemaker_invocations_total counter');
    expect(run.stdout).toMatch(new RegExp(`^aws_sagemaker_invocations_total\\{account_id="${ACCOUNT}",endpoint_name="churn-predictor",region="us-east-2",variant_name="blue"\\} 0 ${end1 - 16 * MINUTE}$`, 'm'));
    expect(run.stderr).toContain('would write');
    expect(existsSync(join(work, 'dry'))).toBe(false);
    expect(await prometheus.seriesNames()).toEqual([]);

    const yace = join(work, 'yace.yaml');
    writeFileSync(yace, 'namingProfile: yace\n');
    const yaceRun = await runBridge(['--dry-run', '--config', yace, '--now', String(t0)], env);
    expect(yaceRun.stdout).toMatch(/^aws_sagemaker_invocations_sum\{dimension_EndpointName="churn-predictor",dimension_VariantName="blue",region="us-east-2"\} \d+ \d+$/m);
    expect(yaceRun.stdout).toContain('aws_sagemaker_endpoints_cpuutilization_average{');
    standIn.calls.length = 0;
  });

  test('first cycle: every series with exact labels, every settled period once, exact values, fewest calls', async () => {
    // A datapoint CloudWatch has not published yet when the first cycle reads: it arrives late, before cycle 2.
    standIn.setValue(SM, 'Invocations', GREEN, 'Sum', end1 - MINUTE, undefined);
    standIn.calls.length = 0;
    const run = await bridge(t0);
    expect(run.stderr).toContain('wrote');
    expect(run.code).toBe(0);

    expect(await prometheus.seriesNames()).toEqual(
      expect.arrayContaining([
        'aws_sagemaker_invocations_total',
        'aws_sagemaker_invocation_4xx_errors_total',
        'aws_sagemaker_invocation_5xx_errors_total',
        'aws_sagemaker_invocation_model_errors_total',
        'aws_sagemaker_invocations_per_instance_total',
        'aws_sagemaker_model_latency_seconds_bucket',
        'aws_sagemaker_model_latency_seconds_sum',
        'aws_sagemaker_model_latency_seconds_count',
        'aws_sagemaker_overhead_latency_seconds_bucket',
        'aws_sagemaker_endpoint_cpu_utilization_ratio',
        'aws_sagemaker_endpoint_memory_utilization_ratio',
        'aws_sagemaker_endpoint_disk_utilization_ratio',
        'aws_sagemaker_endpoint_loaded_models',
        'aws_sagemaker_model_setup_seconds',
        'aws_sagemaker_endpoint_info',
        'aws_sagemaker_variant_instances',
        'aws_sagemaker_variant_weight',
        'neuroncore_utilization_ratio',
        'execution_errors_total',
        'execution_latency_seconds',
        'system_memory_used_bytes',
        'inferwatch_bridge_cloudwatch_metrics_requested_total',
        'inferwatch_bridge_lag_seconds',
      ]),
    );

    const blue = await prometheus.query(`aws_sagemaker_invocations_total${selector('churn-predictor', 'blue')}`, end1);
    expect(blue.map((s) => s.metric)).toEqual([
      { __name__: 'aws_sagemaker_invocations_total', account_id: ACCOUNT, endpoint_name: 'churn-predictor', variant_name: 'blue', region: 'us-east-2' },
    ]);
    const cores = await prometheus.query('neuroncore_utilization_ratio', end1);
    expect(cores.map((s) => s.metric.neuroncore).sort()).toEqual(['0', '1', '2', '3']);
    expect(cores[0]?.metric).toMatchObject({ instance_id: 'i-0823d657f57057590', instance_name: ODD_INSTANCE_NAME, account_id: ACCOUNT });
    const memory = await prometheus.query('system_memory_used_bytes', end1);
    const modelPath = memory[0]?.metric.model_path ?? '';
    expect(Buffer.byteLength(modelPath)).toBeLessThanOrEqual(1024);
    expect(modelPath).toMatch(/^\/opt\/models\/x+…[0-9a-f]{12}$/);
    const info = await prometheus.query('aws_sagemaker_endpoint_info{endpoint_name="churn-predictor"}', end1);
    expect(info.map((s) => [s.metric.variant_name, s.metric.instance_type, s.metric.endpoint_status]).sort()).toEqual([
      ['blue', 'ml.inf1.xlarge', 'InService'],
      ['green', 'ml.inf1.2xlarge', 'InService'],
    ]);
    expect(await prometheus.query('aws_sagemaker_variant_instances{variant_name="blue"}', end1)).toEqual(
      expect.arrayContaining([expect.objectContaining({ value: 2, metric: expect.objectContaining({ state: 'desired' }) })]),
    );

    // Every counter of every variant: a 0 baseline, then one sample per period at its start, exact cumulative values.
    for (const { endpoint, variant } of variants) {
      if (endpoint === 'churn-predictor' && variant === 'green') continue; // its last period is withheld for now
      const [series] = await prometheus.rawSamples(`aws_sagemaker_invocations_total${selector(endpoint, variant)}[20m]`, end1);
      const expected: Array<[number, number]> = [[start1 - MINUTE, 0]];
      for (let t = start1; t < end1; t += MINUTE) expected.push([t, expectedTotal('Invocations', dims(endpoint, variant), t)]);
      expect(series?.values).toEqual(expected);
    }
    // Gauges: the ratio of CloudWatch's percent, one sample per period.
    const [cpu] = await prometheus.rawSamples(`aws_sagemaker_endpoint_cpu_utilization_ratio${selector('churn-predictor', 'blue')}[20m]`, end1);
    expect(cpu?.values.map(([t]) => t)).toEqual(Array.from({ length: 15 }, (_, i) => start1 + i * MINUTE));
    for (const [t, v] of cpu?.values ?? []) expect(v).toBeCloseTo((180 + ((t / MINUTE) % 4)) / 100, 12);
    // Latency histograms (the default): le in seconds, each bucket CloudWatch's TC(:edge in µs) made cumulative.
    const [bucket] = await prometheus.rawSamples(`aws_sagemaker_model_latency_seconds_bucket{endpoint_name="image-classifier",le="0.1"}[20m]`, end1);
    expect(bucket?.values[1]?.[1]).toBeCloseTo(standIn.valueAt(SM, 'ModelLatency', dims('image-classifier', 'AllTraffic'), 'TC(:100000)', start1) ?? NaN, 9);
    // The NaN period is dropped, not written.
    const [latency] = await prometheus.rawSamples('execution_latency_seconds[20m]', end1);
    const nanPeriods = Array.from({ length: 15 }, (_, i) => start1 + i * MINUTE).filter((t) => (t / MINUTE) % 11 === 0);
    expect(latency?.values.length).toBe(15 - nanPeriods.length);
    // Sparse counters: no CloudWatch datapoint means no change, and still exact.
    const [errors] = await prometheus.rawSamples(`aws_sagemaker_invocation_5xx_errors_total${selector('image-classifier', 'AllTraffic')}[20m]`, end1);
    expect(errors?.values.at(-1)?.[1]).toBe(expectedTotal('Invocation5XXErrors', dims('image-classifier', 'AllTraffic'), end1 - MINUTE));

    // The fewest CloudWatch calls: ceil(queries/500) calls, plus one per extra page; one window for all.
    const [queries] = await prometheus.query('inferwatch_bridge_queries', t0 + MINUTE);
    const calls = standIn.callsTo('GetMetricData');
    const firstPages = calls.filter((c) => c.body.NextToken === undefined);
    expect(queries?.value).toBeGreaterThan(500);
    expect(firstPages).toHaveLength(Math.ceil((queries?.value ?? 0) / 500));
    for (const call of calls) {
      expect(call.body).toMatchObject({ StartTime: start1 / 1000, EndTime: end1 / 1000, ScanBy: 'TimestampAscending' });
      expect((call.body.MetricDataQueries as unknown[]).length).toBeLessThanOrEqual(500);
    }
    expect(calls.length).toBeGreaterThan(firstPages.length); // small pages forced NextToken
    const [requested] = await prometheus.query('inferwatch_bridge_cloudwatch_metrics_requested_total{billing="per_statistic"}', t0 + MINUTE);
    expect(requested?.value).toBe(queries?.value);
  });

  test('second cycle: only new periods, late data and revisions carried into the counters exactly', async () => {
    standIn.calls.length = 0;
    standIn.clearValue(SM, 'Invocations', GREEN, 'Sum', end1 - MINUTE); // the late datapoint arrives
    const revised = end1 - 3 * MINUTE;
    standIn.setValue(SM, 'Invocations', BLUE, 'Sum', revised, (standIn.valueAt(SM, 'Invocations', BLUE, 'Sum', revised) ?? 0) + 17);
    standIn.setValue('/aws/sagemaker/Endpoints', 'CPUUtilization', BLUE, 'Average', end1 - 2 * MINUTE, 399);
    standIn.throttleNext(1);

    const t1 = t0 + 5 * MINUTE;
    const end2 = end1 + 5 * MINUTE;
    const run = await bridge(t1);
    expect(run.code).toBe(0);

    for (const call of standIn.callsTo('GetMetricData').filter((c) => c.body.NextToken === undefined)) {
      expect(call.body).toMatchObject({ StartTime: (end1 - 10 * MINUTE) / 1000, EndTime: end2 / 1000 });
    }
    for (const [d, name] of [
      [BLUE, 'blue'],
      [GREEN, 'green'],
    ] as const) {
      const [series] = await prometheus.rawSamples(`aws_sagemaker_invocations_total${selector('churn-predictor', name)}[40m]`, end2);
      const timestamps = series?.values.map(([t]) => t) ?? [];
      expect(new Set(timestamps).size).toBe(timestamps.length);
      expect(timestamps.filter((t) => t >= end1)).toEqual([0, 1, 2, 3, 4].map((i) => end1 + i * MINUTE));
      const total = expectedTotal('Invocations', d, end2 - MINUTE);
      expect(series?.values.at(-1)?.[1]).toBe(total);
      const [increase] = await prometheus.query(`increase(aws_sagemaker_invocations_total${selector('churn-predictor', name)}[40m])`, end2 - MINUTE);
      expect(increase?.value).toBeCloseTo(total, 9);
    }
    const revisions = await prometheus.query('inferwatch_bridge_revisions_total', t1 + MINUTE);
    const byKind = Object.fromEntries(revisions.map((s) => [s.metric.kind, s.value]));
    // Blue's revised period was behind its frontier: carried into the next sample. Green's late period was not:
    // it was written at its own timestamp, which is no revision.
    expect(byKind).toMatchObject({ counter: 1, gauge: 1 });
    // How late: blue's revised period (end1 - 3 min) to the end of this cycle's window (end1 + 5 min).
    const [lateness] = await prometheus.query('inferwatch_bridge_revision_lateness_seconds_total{kind="counter"}', t1 + MINUTE);
    expect(lateness?.value).toBe(480);
    const [green] = await prometheus.rawSamples(`aws_sagemaker_invocations_total${selector('churn-predictor', 'green')}[5m]`, end1);
    expect(green?.values.filter(([t]) => t === end1 - MINUTE)).toEqual([[end1 - MINUTE, expectedTotal('Invocations', GREEN, end1 - MINUTE)]]);
    const [retries] = await prometheus.query('inferwatch_bridge_retries_total{target="cloudwatch"}', t1 + MINUTE);
    expect(retries?.value).toBeGreaterThanOrEqual(1);
  });

  test('a cycle killed after its remote write and before its commit: no gap, no duplicate', async () => {
    const proxy = await new KillAfterWriteProxy(prometheus.remoteWriteUrl).start();
    const t2 = t0 + 10 * MINUTE;
    const end3 = end1 + 10 * MINUTE;
    const config = join(work, 'via-proxy.yaml');
    // Requests of 200 samples: a page closes several, journaled as one record before the first of them is sent.
    writeFileSync(config, `accountId: "${ACCOUNT}"\nremoteWrite:\n  url: ${proxy.url}\n  maxSamplesPerRequest: 200\n  maxAttempts: 1\n`);
    const { child, done } = spawnBridge(['--once', '--config', config, '--state-dir', stateDir, '--now', String(t2)], env);
    proxy.victim = child;
    const killed = await done;
    await proxy.stop();
    expect(killed.signal).toBe('SIGKILL');
    // Requests go out several at a time: the kill lands after the first is stored, maybe with others in flight.
    expect(proxy.writesForwarded).toBeGreaterThanOrEqual(1);
    const journal = storedLease();
    expect(journal).toBeDefined();
    const before = storedState();
    const records: ReplayRequest[][] = [];
    const reader = new FileStateStore(stateDir);
    for (let bytes = await reader.readJournal(journal?.id ?? '', 0); bytes; bytes = await reader.readJournal(journal?.id ?? '', records.length)) {
      records.push(decodeJournalRecord(bytes, `record ${records.length}`));
    }
    expect(records.length).toBeGreaterThanOrEqual(1);
    const journaled = records.reduce((n, requests) => n + requests.length, 0);
    // The kill came after the first request of a record: the rest of it was journaled, never sent.
    expect(Math.max(...records.map((requests) => requests.length))).toBeGreaterThanOrEqual(2);
    expect(proxy.writesForwarded).toBeLessThan(journaled);

    // CloudWatch revises a period the killed cycle already wrote: re-reading naively would now write a different value there.
    const revised = end3 - MINUTE;
    standIn.setValue(SM, 'Invocations', BLUE, 'Sum', revised, (standIn.valueAt(SM, 'Invocations', BLUE, 'Sum', revised) ?? 0) + 9);

    const t3 = t0 + 15 * MINUTE;
    const end4 = end1 + 15 * MINUTE;
    const run = await bridge(t3);
    expect(run.code).toBe(0);
    // The replay sends every journaled request, alone and in order: the sent ones found already stored.
    expect(run.stderr).toContain(`after replaying ${journaled} journaled request(s)`);
    // Those stored before the kill came back as already stored (a 2xx, or a 400 for out of order), never as a rejection.
    expect(run.stderr).not.toContain('journal replay: receiver rejected a request');

    for (const { endpoint, variant } of variants) {
      const series = await everyPeriodOnce(endpoint, variant, end4);
      expect(series?.values.at(-1)?.[1]).toBe(expectedTotal('Invocations', dims(endpoint, variant), end4 - MINUTE));
    }
    const [replays] = await prometheus.query('inferwatch_bridge_journal_replays_total', t3 + MINUTE);
    expect(replays?.value).toBe(1);
    const after = storedState();
    expect(storedLease()).toBeUndefined();
    expect(after.lastJournal).not.toBe(before.lastJournal);
    expect(after.highWaterMark).toBe(end4);
    expect(existsSync(join(stateDir, 'journal', journal?.id ?? ''))).toBe(false);
  });

  test('a cycle with no new settled period does nothing', async () => {
    standIn.calls.length = 0;
    const run = await bridge(t0 + 15 * MINUTE + 30_000);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('nothing to do');
    expect(standIn.calls).toHaveLength(0);
  });

  test('lost state: each series is taken up where Prometheus has it; no gap, no duplicate, no reset, counters exact', async () => {
    const end4 = end1 + 15 * MINUTE;
    const end5 = end1 + 20 * MINUTE;
    rmSync(stateDir, { recursive: true, force: true });
    const run = await bridge(t0 + 20 * MINUTE);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('took each series up where the receiver has it');
    // Nothing Prometheus already holds is sent again, so nothing is refused.
    expect(run.stderr).not.toContain('rejected:');
    for (const { endpoint, variant } of variants) {
      const series = await everyPeriodOnce(endpoint, variant, end5);
      // The counter goes on from the value Prometheus holds: no reset, and the total is CloudWatch's sum since the start.
      const values = series?.values.map(([, v]) => v) ?? [];
      for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1] as number);
      expect(values.at(-1)).toBe(expectedTotal('Invocations', dims(endpoint, variant), end5 - MINUTE));
      // Every sample across the loss is CloudWatch's running sum: nothing over- or under-counted at the seam.
      for (const [t, v] of series?.values.filter(([t]) => t >= end4 - MINUTE) ?? []) expect([t, v]).toEqual([t, expectedTotal('Invocations', dims(endpoint, variant), t)]);
    }
  });

  test('a lost response: the retry is refused as already stored, which is no rejection and loses nothing', async () => {
    const end6 = end1 + 25 * MINUTE;
    const proxy = await new LoseResponseProxy(prometheus.remoteWriteUrl, 1).start();
    const config = join(work, 'lossy.yaml');
    writeFileSync(config, `accountId: "${ACCOUNT}"\nremoteWrite:\n  url: ${proxy.url}\n  maxSamplesPerRequest: 5000\n`);
    const run = await runBridge(['--once', '--config', config, '--state-dir', stateDir, '--now', String(t0 + 25 * MINUTE)], env);
    await proxy.stop();
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/\d+ samples found already stored by a retry/);
    expect(run.stderr).not.toContain('rejected:');
    expect(run.stderr).not.toContain('ERROR');
    for (const { endpoint, variant } of variants) await everyPeriodOnce(endpoint, variant, end6);
    // Write results show one cycle later: the lost-state cycle's rejections are in the self-metrics at t0+25m; this cycle added none.
    const before = await prometheus.query('inferwatch_bridge_samples_rejected_total{reason="out_of_order"}', t0 + 25 * MINUTE + 30_000);
    const next = await bridge(t0 + 26 * MINUTE);
    expect(next.code).toBe(0);
    const [stored] = await prometheus.query('inferwatch_bridge_samples_already_stored_total', t0 + 27 * MINUTE);
    expect(stored?.value).toBeGreaterThan(0);
    const after = await prometheus.query('inferwatch_bridge_samples_rejected_total{reason="out_of_order"}', t0 + 27 * MINUTE);
    expect(after[0]?.value).toBe(before[0]?.value);
  });

  test('a deleted endpoint ends at once: staleness markers for its metadata, then for its CloudWatch series', async () => {
    const lastWritten = end1 + 25 * MINUTE; // the previous cycle forwarded up to end1 + 26 min
    standIn.deleteEndpoint('fleet-000', end1 + 26 * MINUTE);
    const present = async (selector: string, at: number) => (await prometheus.query(selector, at)).length > 0;
    // Before: both endpoints' series answer one second after their last sample.
    expect(await present('aws_sagemaker_invocations_total{endpoint_name="fleet-000"}', lastWritten + 1000)).toBe(true);

    const seen = await bridge(t0 + 30 * MINUTE);
    expect(seen.code).toBe(0);
    // The cycle that sees the endpoint gone ends its metadata one period after the last metadata sample.
    expect(await present('aws_sagemaker_endpoint_info{endpoint_name="fleet-000"}', end1 + 26 * MINUTE + 1000)).toBe(false);
    expect(await present('aws_sagemaker_endpoint_info{endpoint_name="fleet-001"}', end1 + 26 * MINUTE + 1000)).toBe(true);

    const next = await bridge(t0 + 35 * MINUTE);
    expect(next.code).toBe(0);
    // Its CloudWatch series (still listed by ListMetrics, with no new data) end one period after their last sample.
    expect(await present('aws_sagemaker_invocations_total{endpoint_name="fleet-000"}', lastWritten + MINUTE + 1000)).toBe(false);
    expect(await present('aws_sagemaker_endpoint_cpu_utilization_ratio{endpoint_name="fleet-000"}', lastWritten + MINUTE + 1000)).toBe(false);
    expect(await present('aws_sagemaker_invocations_total{endpoint_name="fleet-001"}', lastWritten + MINUTE + 1000)).toBe(true);
    // Once: a later cycle writes nothing more for it.
    const again = await bridge(t0 + 40 * MINUTE);
    expect(again.code).toBe(0);
    const [raw] = await prometheus.rawSamples('aws_sagemaker_invocations_total{endpoint_name="fleet-000"}[1h]', end1 + 40 * MINUTE);
    expect(raw?.values.at(-1)?.[0]).toBe(lastWritten);
  });

  test('a corrupt state stops the bridge, names the file and leaves it untouched; --reset-state keeps it aside and goes on exactly', async () => {
    const file = join(stateDir, 'bridge-state.bin');
    const corrupted = Buffer.from(readFileSync(file));
    corrupted[corrupted.length - 30] = (corrupted[corrupted.length - 30] as number) ^ 1;
    writeFileSync(file, corrupted);
    const refused = await bridge(t0 + 45 * MINUTE);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`state at ${stateDir} is corrupt (checksum mismatch`);
    expect(refused.stderr).toContain('--reset-state');
    expect(readFileSync(file).equals(corrupted)).toBe(true);

    const reset = await bridge(t0 + 45 * MINUTE, ['--reset-state']);
    expect(reset.code).toBe(0);
    expect(reset.stderr).toContain('took each series up where the receiver has it');
    const aside = readdirSync(stateDir).filter((name) => name.startsWith('bridge-state.bin.reset-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(stateDir, aside[0] as string)).equals(corrupted)).toBe(true);
    for (const [endpoint, variant, d] of [['churn-predictor', 'blue', BLUE], ['churn-predictor', 'green', GREEN]] as const) {
      const series = await everyPeriodOnce(endpoint, variant, end1 + 45 * MINUTE);
      expect(series?.values.at(-1)?.[1]).toBe(expectedTotal('Invocations', d, end1 + 44 * MINUTE));
    }
  });

  test('a lock and a temporary file left by a save that was killed do not block the next run', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    writeFileSync(join(stateDir, 'bridge-state.lock'), `${hostname()}/${bootId}/${dead}`);
    writeFileSync(join(stateDir, `bridge-state.bin.${dead}.tmp`), 'half a state');
    const run = await bridge(t0 + 50 * MINUTE);
    expect(run.code).toBe(0);
    expect(readdirSync(stateDir).filter((name) => name.endsWith('.lock') || name.endsWith('.tmp'))).toEqual([]);
  });

  test('CloudWatch failing: the last word names the call and says nothing was committed; the next cycle carries on exactly', async () => {
    standIn.failNext(1000); // every GetMetricData attempt of this cycle, the SDK's retries included
    const failed = await bridge(t0 + 55 * MINUTE);
    standIn.failNext(0);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /CloudWatch GetMetricData failed with HTTP 500 after \d+ attempt\(s\): InternalFailure: boom\. Nothing was committed: it had written (nothing|\d+ samples in \d+ request\(s\), journaled: the next cycle replays them first), and carries on from \d{4}-/,
    );
    const next = await bridge(t0 + 56 * MINUTE);
    expect(next.code).toBe(0);
    for (const [endpoint, variant, d] of [['churn-predictor', 'blue', BLUE], ['churn-predictor', 'green', GREEN]] as const) {
      const series = await everyPeriodOnce(endpoint, variant, end1 + 56 * MINUTE);
      expect(series?.values.at(-1)?.[1]).toBe(expectedTotal('Invocations', d, end1 + 55 * MINUTE));
    }
  }, 120_000);

  test('a metric ListMetrics leaves out for a cycle: its periods are written at their own timestamps when it is back', async () => {
    const IMAGE = dims('image-classifier', 'AllTraffic');
    standIn.setListed(SM, 'Invocations', IMAGE, false);
    standIn.setListed('/aws/sagemaker/Endpoints', 'CPUUtilization', IMAGE, false);
    const hidden = await bridge(t0 + 61 * MINUTE);
    expect(hidden.code).toBe(0);
    standIn.setListed(SM, 'Invocations', IMAGE, true);
    standIn.setListed('/aws/sagemaker/Endpoints', 'CPUUtilization', IMAGE, true);
    const back = await bridge(t0 + 66 * MINUTE);
    expect(back.code).toBe(0);
    // Every period once, the hidden cycle's included, and the counter exact.
    const series = await everyPeriodOnce('image-classifier', 'AllTraffic', end1 + 66 * MINUTE);
    expect(series?.values.at(-1)?.[1]).toBe(expectedTotal('Invocations', IMAGE, end1 + 65 * MINUTE));
    const [cpu] = await prometheus.rawSamples(`aws_sagemaker_endpoint_cpu_utilization_ratio${selector('image-classifier', 'AllTraffic')}[10m]`, end1 + 65 * MINUTE);
    // The gauge too: one sample per period through the hidden cycle's window and after, none missing.
    expect(cpu?.values.map(([t]) => t).filter((t) => t >= end1 + 56 * MINUTE)).toEqual(Array.from({ length: 10 }, (_, i) => end1 + 56 * MINUTE + i * MINUTE));
  });
});

/**
 * `npm run bench`: what the bridge costs and how fast it is, measured in one run against the CloudWatch
 * stand-in, each figure beside a peer measured in the same run.
 *
 *  1. AWS cost: GetMetricData bills per metric requested. One hour of a 200-endpoint fleet, forwarded by
 *     cycles every 1, 5 and 15 minutes (same 60 s resolution); calls against the minimum ceil(queries/500).
 *  2. Wire size: the remote-write bodies (protobuf + snappy) against the text exposition of the same samples.
 *  3. Speed and memory: translating and encoding one large cycle, against JSON.stringify of the same samples.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { resolveConfig } from '../../contract/bridge-config';
import { runCycle } from '../../lambda/bridge/cycle';
import { BatchBuilder, type Batch } from '../../lambda/bridge/remote-write/batcher';
import { decodeWriteRequest, encodeWriteRequest } from '../../lambda/bridge/remote-write/encode';
import { toExposition } from '../../lambda/bridge/remote-write/exposition';
import { createCycleDeps, createWarmCaches } from '../../lambda/bridge/runtime';
import { buildLabels, type Sample } from '../../lambda/bridge/series';
import { emptyStats, SeriesCursor } from '../../lambda/bridge/translate';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { defaultFleet } from '../support/stand-ins/fleet';

const MINUTE = 60_000;
const ENDPOINTS = 200;
const PRICE_PER_1000_METRICS = 0.01; // GetMetricData, us-east-1
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

async function costOfOneHour(standIn: AwsStandIn, everyMinutes: number, start: number) {
  const dir = mkdtempSync(join(tmpdir(), 'inferwatch-bench-'));
  const config = resolveConfig({ initialLookback: '5m', remoteWrite: { url: 'http://127.0.0.1:1/unused' }, state: { type: 'file', directory: dir }, sagemakerMetadata: false }, {});
  let now = start;
  let bytes = 0;
  let expositionBytes = 0;
  const caches = createWarmCaches();
  standIn.calls.length = 0;
  let cycles = 0;
  let queries = 0;
  let afterFirstCycle = 0;
  // Every row forwards the same data: from the initial lookback up to start + 1 h.
  for (; now <= start + 60 * MINUTE; now += everyMinutes * MINUTE) {
    const { deps, catalog } = createCycleDeps(config, { logger: quiet, env: process.env, caches, deadline: () => Date.now() + MINUTE, now: () => now }, false);
    const report = await runCycle(config, catalog, {
      ...deps,
      send: async (body) => {
        // The same samples as text exposition, for the wire-size comparison (metadata-only requests hold none).
        const series = decodeWriteRequest(body).map((t) => ({ labels: t.labels, samples: t.samples, kind: 'gauge' as const }));
        expositionBytes += Buffer.byteLength(toExposition(series));
        bytes += body.length;
        return { status: 'ok', attempts: 1 };
      },
    });
    queries = report.queries;
    cycles += 1;
    if (cycles === 1) afterFirstCycle = standIn.callsTo('GetMetricData').length;
  }
  rmSync(dir, { recursive: true, force: true });
  const getMetricData = standIn.callsTo('GetMetricData');
  const billed = (calls: typeof getMetricData) => calls.filter((c) => c.body.NextToken === undefined).reduce((n, c) => n + (c.body.MetricDataQueries as unknown[]).length, 0);
  // The cycles after the first forwarded exactly one hour of periods: that is the steady-state hourly bill.
  const billedPerHour = billed(getMetricData.slice(afterFirstCycle));
  return { everyMinutes, cycles, queries, calls: getMetricData.length, minimumCalls: cycles * Math.ceil(queries / 500), metricsRequested: billed(getMetricData), billedPerHour, bytes, expositionBytes };
}

function encodeBench(seriesCount: number, samplesPerSeries: number) {
  const T = 1_800_000_000_000;
  const queries = Array.from({ length: seriesCount }, (_, i) => ({
    labels: buildLabels(i % 2 ? 'aws_sagemaker_invocations_total' : 'aws_sagemaker_endpoint_cpu_utilization_ratio', {
      endpoint_name: `endpoint-${i}`,
      variant_name: 'AllTraffic',
      region: 'us-east-1',
      account_id: '123456789012',
    }),
    kind: (i % 2 ? 'counter' : 'gauge') as 'counter' | 'gauge',
    points: Array.from({ length: samplesPerSeries }, (_, j) => [T + j * MINUTE, 100 + ((i * j) % 17)] as [number, number]),
  }));
  const settings = { periodMs: MINUTE, readStart: T, end: T + samplesPerSeries * MINUTE, nextBase: T + (samplesPerSeries - 10) * MINUTE, writableFrom: -Infinity };
  const time = (fn: () => unknown, rounds = 5) => {
    fn();
    const start = performance.now();
    for (let i = 0; i < rounds; i++) fn();
    return (performance.now() - start) / rounds;
  };
  let batches: Batch[] = [];
  const translateMs = time(() => {
    const builder = new BatchBuilder(2000, 'stream');
    const stats = emptyStats();
    const out: Sample[] = [];
    for (const query of queries) {
      const cursor = new SeriesCursor(undefined, query.kind === 'counter', false, 1, settings, stats);
      for (const [t, v] of query.points) {
        out.length = 0;
        cursor.push(t, v, out);
        builder.add(query, out, cursor.journalState());
      }
    }
    builder.close();
    batches = builder.drain();
  });
  const encodeMs = time(() => batches.map((b) => encodeWriteRequest(b.series)));
  const jsonMs = time(() => batches.map((b) => Buffer.from(JSON.stringify(b.series))));
  const samples = batches.reduce((n, b) => n + b.samples, 0);
  return { samples, translateMs, encodeMs, jsonMs };
}

async function main(): Promise<void> {
  const standIn = await new AwsStandIn(defaultFleet('neuron_monitor', ENDPOINTS - 2)).start();
  Object.assign(process.env, standIn.env(), { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
  const start = Math.floor(Date.now() / MINUTE) * MINUTE - 3 * 60 * MINUTE;
  const rows = [];
  for (const every of [1, 5, 15]) rows.push(await costOfOneHour(standIn, every, start));
  await standIn.stop();
  const base = rows[0] as (typeof rows)[number];

  const lines: string[] = [];
  lines.push(`AWS cost of forwarding the same hour, ${ENDPOINTS} endpoints (${base.queries} GetMetricData queries per cycle), 60 s resolution. $ per month from the steady-state hour at $${PRICE_PER_1000_METRICS} per 1,000 metrics:`);
  lines.push('');
  lines.push('| cycle every | cycles | GetMetricData calls (minimum) | metrics billed (incl. first cycle) | $ per month | vs every 1 min | remote-write bytes | text exposition bytes | ratio |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const monthly = ((r.billedPerHour * 24 * 30) / 1000) * PRICE_PER_1000_METRICS;
    lines.push(
      `| ${r.everyMinutes} min | ${r.cycles} | ${r.calls} (${r.minimumCalls}) | ${r.metricsRequested} | ${monthly.toFixed(2)} | ${(r.billedPerHour / base.billedPerHour).toFixed(2)}× | ${r.bytes} | ${r.expositionBytes} | ${(r.bytes / r.expositionBytes).toFixed(3)} |`,
    );
  }
  const encode = encodeBench(5000, 60);
  lines.push('');
  lines.push(`One large cycle: ${encode.samples} samples in 5,000 series (peer: JSON.stringify of the same batches):`);
  lines.push('');
  lines.push('| step | ms | samples/s | vs JSON.stringify |');
  lines.push('| --- | --- | --- | --- |');
  lines.push(`| translate (cumulative counters, state) | ${encode.translateMs.toFixed(1)} | ${Math.round(encode.samples / (encode.translateMs / 1000)).toLocaleString('en')} | |`);
  lines.push(`| encode (protobuf + snappy, 2,000 per request) | ${encode.encodeMs.toFixed(1)} | ${Math.round(encode.samples / (encode.encodeMs / 1000)).toLocaleString('en')} | ${(encode.encodeMs / encode.jsonMs).toFixed(2)}× the time |`);
  lines.push(`| JSON.stringify (peer) | ${encode.jsonMs.toFixed(1)} | ${Math.round(encode.samples / (encode.jsonMs / 1000)).toLocaleString('en')} | 1.00× |`);
  lines.push('');
  lines.push(`Peak resident memory of the whole benchmark process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB. Node ${process.version}, ${process.arch}.`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`bench failed: ${error.stack}\n`);
  process.exit(1);
});

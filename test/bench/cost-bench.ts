/**
 * The cost scenario of `npm run bench` (issue 22): what a real-time variant costs a month at 0 %, 50 % and 90 % idle,
 * with the default configuration (latency histograms, idle variants through a sentinel, read intervals per class),
 * CloudWatch and AMP together, under both readings of CloudWatch's billing rule, and what each lever saves on its own.
 * Measured from the GetMetricData calls the bridge makes against the CloudWatch stand-in (a fleet whose idle variants
 * publish no invocation, error or latency datapoint, as SageMaker does) and the samples it writes, beside
 * `inferwatch cost`'s model of the same metrics: the bench fails when the two differ, so the README's table (the
 * model over every catalog metric, `inferwatch cost --idle 0,0.5,0.9`) stands on measured calls.
 *
 *   npx tsx test/bench/cost-bench.ts [--variants 40] [--out file]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../contract/bridge-config';
import { Catalog } from '../../lambda/bridge/catalog/catalog';
import { STATISTICS_PER_BILLED_METRIC } from '../../lambda/bridge/cloudwatch/plan';
import { runCycle } from '../../lambda/bridge/cycle';
import { decodeWriteRequest } from '../../lambda/bridge/remote-write/encode';
import { createCycleDeps, createWarmCaches } from '../../lambda/bridge/runtime';
import { EVERY_CYCLE, PRICES, variantCycle, variantMonth, streamVariantMonth, type ReadLevers } from '../../cli/cost';
import { DEFAULT_LATENCY_MODE } from '../../contract/latency';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { buildMetrics, fleetOf } from '../support/stand-ins/fleet';
import { withIdlePeriods } from '../support/stand-ins/idle-traffic';

const MINUTE = 60_000;
const SCHEDULE_MINUTES = 5;
const CYCLES_PER_MONTH = (30 * 24 * 60) / SCHEDULE_MINUTES;
/** Cycles before measuring: the first (no state) and enough for every class to have a base of its own. */
const WARM_UP = 3;
/** Measured: one hour of 5-minute cycles, a whole number of every class's reads. */
const MEASURED = 12;
const IDLES = [0, 0.5, 0.9] as const;
/** Issue 22's targets, per variant-month, CloudWatch and AMP together, default configuration. */
const TARGETS = { perStatistic: { 0: 2.3, 0.5: 1.5, 0.9: 0.7 }, fiveStats0: 1.4 } as const;
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

interface Lever {
  readonly name: string;
  readonly levers: ReadLevers;
}

const DEFAULTS = resolveConfig({ remoteWrite: { url: 'http://127.0.0.1:1/unused' } }, {});
const CONFIGURED: ReadLevers = { idleSentinel: DEFAULTS.idleVariants === 'sentinel', intervals: DEFAULTS.readIntervals };
const LEVERS: readonly Lever[] = [
  { name: 'every metric every cycle (before)', levers: EVERY_CYCLE },
  { name: 'idle variants through a sentinel, alone', levers: { ...EVERY_CYCLE, idleSentinel: true } },
  { name: 'read intervals per class, alone', levers: { ...EVERY_CYCLE, intervals: CONFIGURED.intervals } },
  { name: 'both (the default configuration)', levers: CONFIGURED },
];

export interface Measured {
  readonly idle: number;
  readonly lever: string;
  /** Per variant and cycle, averaged over the measured cycles. */
  readonly perStatistic: number;
  readonly fiveStats: number;
  readonly samplesPerPeriod: number;
  readonly model: ReturnType<typeof variantCycle>;
}

/** One idle fraction and lever: the fleet's cycles, counted from the stand-in's GetMetricData calls and the written samples. */
async function measure(variants: number, idle: number, lever: Lever, t0: number): Promise<Measured> {
  const idleVariants = Math.round(variants * idle);
  const fleet = fleetOf(variants);
  const names = fleet.endpoints.flatMap((e) => e.variants.map((v) => `${e.name}/${v.name}`));
  const idleSet = new Set(names.slice(0, idleVariants));
  const standIn = new AwsStandIn(withIdlePeriods(fleet, (endpoint, variant) => idleSet.has(`${endpoint}/${variant}`)), { latencyMs: 0, tpsLimits: { GetMetricData: 1000 } });
  await standIn.start();
  // The SDK reads its endpoints and credentials from the process environment.
  Object.assign(process.env, standIn.env(), { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
  const env = process.env;
  const dir = mkdtempSync(join(tmpdir(), 'inferwatch-cost-bench-'));
  try {
    const config = resolveConfig(
      {
        remoteWrite: { url: 'http://127.0.0.1:1/unused' },
        state: { type: 'file', directory: dir },
        // The variants' own metrics: the Neuron hosts and SageMaker metadata are not what the levers change.
        namespaces: ['AWS/SageMaker', '/aws/sagemaker/Endpoints'],
        sagemakerMetadata: false,
        idleVariants: lever.levers.idleSentinel ? 'sentinel' : 'read',
        readIntervals: lever.levers.intervals,
        getMetricDataTps: 1000,
      },
      env,
    );
    const caches = createWarmCaches();
    let samples = 0;
    let counting = false;
    let firstCall = 0;
    for (let i = 0; i < WARM_UP + MEASURED; i++) {
      const now = t0 + i * SCHEDULE_MINUTES * MINUTE;
      if (i === WARM_UP) {
        counting = true;
        firstCall = standIn.calls.length;
      }
      const { deps, catalog } = createCycleDeps(config, { logger: quiet, env, caches, deadline: () => Date.now() + MINUTE, now: () => now }, false);
      await runCycle(config, catalog, {
        ...deps,
        send: async (body) => {
          if (counting) for (const s of decodeWriteRequest(body)) if (!s.labels.some((l) => l.name === '__name__' && l.value.startsWith('inferwatch_bridge_'))) samples += s.samples.length;
          return { status: 'ok', attempts: 1 };
        },
      });
    }
    const firstPages = standIn.calls.slice(firstCall).filter((c) => c.target.endsWith('GetMetricData') && c.body.NextToken === undefined);
    let perStatistic = 0;
    let fiveStats = 0;
    for (const call of firstPages) {
      const queries = call.body.MetricDataQueries as Array<{ MetricStat: { Metric: { Namespace: string; MetricName: string; Dimensions?: Array<{ Name: string; Value: string }> } } }>;
      perStatistic += queries.length;
      const byMetric = new Map<string, number>();
      for (const { MetricStat } of queries) {
        const id = JSON.stringify([MetricStat.Metric.Namespace, MetricStat.Metric.MetricName, (MetricStat.Metric.Dimensions ?? []).map((d) => `${d.Name}=${d.Value}`).sort()]);
        byMetric.set(id, (byMetric.get(id) ?? 0) + 1);
      }
      for (const n of byMetric.values()) fiveStats += Math.ceil(n / STATISTICS_PER_BILLED_METRIC);
    }
    const present = new Set(buildMetrics(fleet).map((m) => `${m.namespace}|${m.metricName}`));
    const catalog = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor', DEFAULT_LATENCY_MODE);
    const perVariantCycle = (n: number) => n / MEASURED / variants;
    // The model over the same metrics, with this lever and the fleet's idle share (without metadata, which the bench leaves out).
    const model = variantCycle(catalog, lever.levers, idleVariants / variants, SCHEDULE_MINUTES, (namespace, metric) => present.has(`${namespace}|${metric}`));
    return {
      idle,
      lever: lever.name,
      perStatistic: perVariantCycle(perStatistic),
      fiveStats: perVariantCycle(fiveStats),
      samplesPerPeriod: samples / (MEASURED * SCHEDULE_MINUTES) / variants,
      model: { ...model, samplesPerPeriod: model.samplesPerPeriod - 5 },
    };
  } finally {
    await standIn.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const usd = (n: number) => `$${n.toFixed(2)}`;
const monthOf = (perStatistic: number, fiveStats: number, samplesPerPeriod: number) => ({
  perStatistic: ((perStatistic * CYCLES_PER_MONTH) / 1000) * PRICES.getMetricDataPer1000Metrics,
  fiveStats: ((fiveStats * CYCLES_PER_MONTH) / 1000) * PRICES.getMetricDataPer1000Metrics,
  amp: ((samplesPerPeriod * 30 * 24 * 60) / 1e7) * PRICES.ampPer10MillionSamples,
});

/** The measured table, the model beside it, and the targets on the full catalog (the README's figures). */
export function formatCostBench(rows: readonly Measured[], variants: number): { text: string; misses: string[]; disagreements: string[] } {
  const catalog = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor', DEFAULT_LATENCY_MODE);
  const disagreements: string[] = [];
  const lines = [
    `Cost per real-time variant-month, measured: ${variants} variants of the stand-in fleet, ${MEASURED} cycles every ${SCHEDULE_MINUTES} min after ${WARM_UP}, metrics requested counted from the GetMetricData calls, samples from the remote writes (the bridge's own metrics and SageMaker metadata left out). Model: inferwatch cost over the same metrics.`,
    '',
    '| idle | how the bridge reads | per statistic + AMP (measured / model) | per metric, 5 stats + AMP (measured / model) | GetMetricData metrics a variant-cycle |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const m = monthOf(r.perStatistic, r.fiveStats, r.samplesPerPeriod);
    const model = monthOf(r.model.perStatistic, r.model.fiveStats, r.model.samplesPerPeriod);
    lines.push(`| ${Math.round(r.idle * 100)} % | ${r.lever} | ${usd(m.perStatistic + m.amp)} / ${usd(model.perStatistic + model.amp)} | ${usd(m.fiveStats + m.amp)} / ${usd(model.fiveStats + model.amp)} | ${r.perStatistic.toFixed(2)} |`);
    // Within 3 %, or a tenth of a metric a variant-cycle (one query in a small fleet's hour lands on a class boundary).
    const off = (a: number, b: number) => Math.abs(a - b) > Math.max(0.03 * b, 0.15);
    if (off(r.perStatistic, r.model.perStatistic) || off(r.fiveStats, r.model.fiveStats) || off(r.samplesPerPeriod, r.model.samplesPerPeriod)) {
      disagreements.push(`${Math.round(r.idle * 100)} % idle, ${r.lever}: measured ${r.perStatistic.toFixed(2)} / ${r.fiveStats.toFixed(2)} metrics and ${r.samplesPerPeriod.toFixed(1)} samples, model ${r.model.perStatistic.toFixed(2)} / ${r.model.fiveStats.toFixed(2)} and ${r.model.samplesPerPeriod.toFixed(1)}`);
    }
  }
  const misses: string[] = [];
  lines.push('', 'Targets (issue 22), default configuration, every real-time catalog metric (the model the measurements above agree with):', '');
  for (const idle of IDLES) {
    const month = variantMonth(catalog, CONFIGURED, idle, SCHEDULE_MINUTES, 60);
    const stream = streamVariantMonth(catalog, idle, 60);
    const perStatistic = month.perStatisticUsd + month.ampUsd;
    const target = TARGETS.perStatistic[idle];
    const checks = [`per statistic ${usd(perStatistic)} (target ≤ ${usd(target)}) ${perStatistic <= target ? 'PASS' : 'MISS'}`];
    if (perStatistic > target) misses.push(`${idle * 100} % idle, per statistic: ${usd(perStatistic)} > ${usd(target)}`);
    if (idle === 0) {
      const five = month.fiveStatsUsd + month.ampUsd;
      checks.push(`per metric ${usd(five)} (target ≤ ${usd(TARGETS.fiveStats0)}) ${five <= TARGETS.fiveStats0 ? 'PASS' : 'MISS'}`);
      if (five > TARGETS.fiveStats0) misses.push(`0 % idle, five statistics: ${usd(five)} > ${usd(TARGETS.fiveStats0)}`);
    }
    checks.push(`metric stream + Firehose ${usd(stream)}: ${perStatistic < stream ? 'below, PASS' : 'MISS'}`);
    if (perStatistic >= stream) misses.push(`${idle * 100} % idle: ${usd(perStatistic)} not below the metric stream's ${usd(stream)}`);
    lines.push(`- ${Math.round(idle * 100)} % idle: ${checks.join('; ')}`);
  }
  return { text: lines.join('\n'), misses, disagreements };
}

export async function costBench(variants: number): Promise<Measured[]> {
  const t0 = Math.floor(Date.now() / (5 * MINUTE)) * 5 * MINUTE - 3 * 60 * MINUTE;
  const rows: Measured[] = [];
  for (const idle of IDLES) for (const lever of LEVERS) rows.push(await measure(variants, idle, lever, t0));
  return rows;
}

async function main(argv: string[]): Promise<number> {
  const at = (flag: string) => argv[argv.indexOf(flag) + 1];
  const variants = argv.includes('--variants') ? Number(at('--variants')) : 40;
  const rows = await costBench(variants);
  const { text, misses, disagreements } = formatCostBench(rows, variants);
  process.stdout.write(`${text}\n`);
  if (argv.includes('--out')) writeFileSync(at('--out') as string, `${text}\n`);
  for (const d of disagreements) process.stderr.write(`cost bench: the model and the measured calls differ: ${d}\n`);
  for (const m of misses) process.stderr.write(`cost bench: target missed: ${m}\n`);
  return disagreements.length > 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

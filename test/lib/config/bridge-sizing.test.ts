import { App } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { cycleEstimate, DEFAULT_BRIDGE_MEMORY_MIB, variantsPerShardByCpu } from '../../../contract/bridge-capacity';
import { MEASURED_SERIES_PER_SHARD_AT_512_MIB, shardSizingProblems, shardSizingWarning } from '../../../lib/config/bridge-sizing';
import { parseInferwatchConfig } from '../../../lib/config/inferwatch-config';
import { expectedSeries } from '../../../lib/config/series-limits';
import { buildInferwatch } from '../../../lib/inferwatch-app';

describe('bridge shard sizing against the measured capacity', () => {
  test('the measured 10,000 histogram variants fit one 512 MB shard; 12,000 do not, and the warning names the keys and the fix', () => {
    expect(MEASURED_SERIES_PER_SHARD_AT_512_MIB).toBe(expectedSeries({ variants: 10_000, neuronHosts: 0, latency: 'histogram' }));
    expect(shardSizingWarning({ fleet: { variants: 10_000, neuronHosts: 0 }, shards: 1, memoryMiB: 512 }, 'workloads[0]')).toBeUndefined();
    const warning = shardSizingWarning({ fleet: { variants: 12_000, neuronHosts: 0 }, shards: 1, memoryMiB: 512 }, 'workloads[2]');
    expect(warning).toContain('workloads[2]: 12,000 declared variants (540,030 series a shard with latency histogram)');
    expect(warning).toContain('"workloads[2].bridge.shards" to 2 or more, or "workloads[2].bridge.memoryMiB" to 640');
  });

  test('shards, memory and the summary mode each bring 12,000 variants within the measured capacity', () => {
    const fleet = { variants: 12_000, neuronHosts: 0 };
    expect(shardSizingWarning({ fleet, shards: 2, memoryMiB: 512 }, 'w')).toBeUndefined();
    expect(shardSizingWarning({ fleet, shards: 1, memoryMiB: 640 }, 'w')).toBeUndefined();
    expect(shardSizingWarning({ fleet: { ...fleet, latency: 'summary' }, shards: 1, memoryMiB: 512 }, 'w')).toBeUndefined();
  });

  test('by CPU: the most variants a shard keeps within half the timeout at its CPU share; beyond, a warning naming the keys and numbers, and the memory it names fits', () => {
    const sizing = { timeoutSeconds: 240, scheduleMinutes: 5 };
    const capacity = variantsPerShardByCpu({ memoryMiB: DEFAULT_BRIDGE_MEMORY_MIB, ...sizing });
    const fits = cycleEstimate({ variants: capacity, memoryMiB: DEFAULT_BRIDGE_MEMORY_MIB });
    expect(Math.max(fits.steadyWallSeconds, fits.catchUpWallSeconds)).toBeLessThanOrEqual(120);
    const over = cycleEstimate({ variants: capacity + 1, memoryMiB: DEFAULT_BRIDGE_MEMORY_MIB });
    expect(Math.max(over.steadyWallSeconds, over.catchUpWallSeconds)).toBeGreaterThan(120);
    // More memory, more CPU: capacity grows with it.
    expect(variantsPerShardByCpu({ memoryMiB: 1769, ...sizing })).toBeGreaterThan(capacity);
    expect(variantsPerShardByCpu({ memoryMiB: 512, ...sizing })).toBeLessThan(capacity);

    expect(shardSizingProblems({ fleet: { variants: capacity, neuronHosts: 0 }, shards: 1, memoryMiB: DEFAULT_BRIDGE_MEMORY_MIB, ...sizing }, 'workloads[0]')).toEqual({ errors: [], warnings: [] });
    const variants = Math.ceil(capacity * 1.3);
    const { errors, warnings } = shardSizingProblems({ fleet: { variants, neuronHosts: 0 }, shards: 1, memoryMiB: DEFAULT_BRIDGE_MEMORY_MIB, ...sizing }, 'workloads[1]');
    expect(errors).toEqual([]);
    const cpuWarning = warnings.find((w) => w.includes('CPU-seconds'));
    expect(cpuWarning).toMatch(new RegExp(`^workloads\\[1\\]: a (steady|catch-up) cycle of ${variants.toLocaleString('en-US')} histogram variants a shard .* needs about \\d+ CPU-seconds \\(measured: .*\\), \\d+ s at ${DEFAULT_BRIDGE_MEMORY_MIB} MB's CPU share \\(0\\.58 vCPU; 1,769 MB is one\\), over half the 240 s timeout: set "workloads\\[1\\]\\.bridge\\.memoryMiB" to \\d+ or more, or "workloads\\[1\\]\\.bridge\\.shards" to 2 or more, or "workloads\\[1\\]\\.bridge\\.timeoutSeconds" higher \\(below the schedule's 300 s\\)$`));
    const memoryMiB = Number(/memoryMiB" to (\d+)/.exec(cpuWarning ?? '')?.[1]);
    expect(memoryMiB % 64).toBe(0);
    expect(shardSizingProblems({ fleet: { variants, neuronHosts: 0 }, shards: 1, memoryMiB, ...sizing }, 'w').warnings.filter((w) => w.includes('CPU-seconds'))).toEqual([]);
    expect(shardSizingProblems({ fleet: { variants, neuronHosts: 0 }, shards: 2, memoryMiB: DEFAULT_BRIDGE_MEMORY_MIB, ...sizing }, 'w')).toEqual({ errors: [], warnings: [] });
  });

  test('by CPU: a cycle past the whole timeout is an error (that shard never commits); a sample budget too small to gain on the schedule, a warning', () => {
    const sizing = { timeoutSeconds: 240, scheduleMinutes: 5 };
    const huge = shardSizingProblems({ fleet: { variants: 8 * variantsPerShardByCpu({ memoryMiB: 512, ...sizing }), neuronHosts: 0 }, shards: 1, memoryMiB: 512, ...sizing }, 'workloads[3]');
    expect(huge.errors.join('\n')).toMatch(/^workloads\[3\]: a (steady|catch-up) cycle .* over the whole 240 s timeout: /m);
    const slow = shardSizingProblems({ fleet: { variants: 1000, neuronHosts: 0 }, shards: 1, memoryMiB: DEFAULT_BRIDGE_MEMORY_MIB, maxSamplesPerCycle: 200_000, ...sizing }, 'workloads[4]');
    expect(slow.warnings).toEqual([expect.stringMatching(/^workloads\[4\]: a catch-up cycle of 1,000 histogram variants a shard \(1,000 declared over 1\) forwards 4 one-minute periods \(its sample budget, 200,000 samples\), fewer than twice the 5 minutes between cycles, so an outage's backlog shrinks slowly or never: set "workloads\[4\]\.bridge\.shards" to 3 or more, or /)]);
  });

  test('cdk synth warns on the workload stack whose declared fleet outgrows its bridge, and on no other', () => {
    const app = new App();
    const shards = Math.ceil(30_000 / variantsPerShardByCpu({ memoryMiB: DEFAULT_BRIDGE_MEMORY_MIB, timeoutSeconds: 240, scheduleMinutes: 5 }));
    const { workloads } = buildInferwatch(
      app,
      parseInferwatchConfig({
        monitoring: { account: '111111111111', region: 'eu-west-1', workspaceId: 'ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789', grafana: { enabled: false } },
        workloads: [
          { account: '111111111111', region: 'eu-west-1', fleet: { variants: 30_000, neuronHosts: 0 } },
          { account: '111111111111', region: 'us-east-1', fleet: { variants: 30_000, neuronHosts: 0 }, bridge: { shards, config: { getMetricDataTps: Math.floor(50 / shards) } } },
          { account: '111111111111', region: 'us-west-2', fleet: { variants: 30_000, neuronHosts: 0 }, bridge: { shards } },
        ],
      }),
    );
    const [big, sharded, overQuota] = workloads.map((stack) => Annotations.fromStack(stack as NonNullable<typeof stack>));
    big?.hasWarning('*', Match.stringLikeRegexp('workloads\\[0\\]: 30,000 declared variants .* set "workloads\\[0\\]\\.bridge\\.shards" to 2 or more'));
    const cpu = Match.stringLikeRegexp('workloads\\[0\\]: a (steady|catch-up) cycle of 30,000 histogram variants .* CPU-seconds');
    expect([...(big?.findWarning('*', cpu) ?? []), ...(big?.findError('*', cpu) ?? [])].length).toBeGreaterThan(0);
    expect(sharded?.findWarning('*', Match.anyValue())).toEqual([]);
    expect(sharded?.findError('*', Match.anyValue())).toEqual([]);
    // The same shards at the default 25 calls a second each: together past CloudWatch's quota of 50 for the Region.
    expect(overQuota?.findWarning('*', Match.anyValue()).map((w) => w.entry.data)).toEqual([
      expect.stringMatching(new RegExp(`^workloads\\[2\\]: ${shards} shards at 25 GetMetricData calls a second each start up to ${shards * 25} a second together, over CloudWatch's default quota of 50 .* set "workloads\\[2\\]\\.bridge\\.config\\.getMetricDataTps" to 16\\.66 or less`)),
    ]);
  });

  test("by GetMetricData's rate: a catch-up's calls at getMetricDataTps count like its CPU, and past half the timeout the warning says so", () => {
    const sizing = { timeoutSeconds: 240, scheduleMinutes: 5 };
    // At one vCPU the CPU fits 21,770 variants' catch-up, and its 3,000 calls take 120 s at 25 a second: the rate binds.
    const capacity = variantsPerShardByCpu({ memoryMiB: 1769, ...sizing });
    const atLimit = cycleEstimate({ variants: capacity, memoryMiB: 1769 });
    expect(atLimit.catchUpCallSeconds).toBeGreaterThan(atLimit.catchUpCpuSeconds / atLimit.share);
    expect(atLimit.catchUpWallSeconds).toBeLessThanOrEqual(120);
    expect(cycleEstimate({ variants: capacity + 1, memoryMiB: 1769 }).catchUpWallSeconds).toBeGreaterThan(120);
    // A faster rate lifts the limit; a slower one lowers it.
    expect(variantsPerShardByCpu({ memoryMiB: 1769, getMetricDataTps: 40, ...sizing })).toBeGreaterThan(capacity);
    expect(variantsPerShardByCpu({ memoryMiB: 1769, getMetricDataTps: 10, ...sizing })).toBeLessThan(capacity);
    const { warnings } = shardSizingProblems({ fleet: { variants: 4000, neuronHosts: 0 }, shards: 1, memoryMiB: 1769, getMetricDataTps: 4, ...sizing }, 'workloads[5]');
    expect(warnings).toEqual([
      expect.stringMatching(/^workloads\[5\]: a catch-up cycle of 4,000 histogram variants a shard \(4,000 declared over 1\) makes about 552 GetMetricData calls \(measured: 0\.1378 a variant\), 138 s at 4 calls a second \("getMetricDataTps"\), over half the 240 s timeout: set "workloads\[5\]\.bridge\.config\.getMetricDataTps" to 5 or more, or "workloads\[5\]\.bridge\.shards" to 2 or more, or /),
    ]);
    expect(shardSizingProblems({ fleet: { variants: 4000, neuronHosts: 0 }, shards: 1, memoryMiB: 1769, getMetricDataTps: 5, ...sizing }, 'w')).toEqual({ errors: [], warnings: [] });
  });
});

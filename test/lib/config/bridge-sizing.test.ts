import { App } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { MEASURED_SERIES_PER_SHARD_AT_512_MIB, shardSizingWarning } from '../../../lib/config/bridge-sizing';
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

  test('cdk synth warns on the workload stack whose declared fleet outgrows its bridge, and on no other', () => {
    const app = new App();
    const { workloads } = buildInferwatch(
      app,
      parseInferwatchConfig({
        monitoring: { account: '111111111111', region: 'eu-west-1', workspaceId: 'ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789', grafana: { enabled: false } },
        workloads: [
          { account: '111111111111', region: 'eu-west-1', fleet: { variants: 30_000, neuronHosts: 0 } },
          { account: '111111111111', region: 'us-east-1', fleet: { variants: 30_000, neuronHosts: 0 }, bridge: { shards: 4 } },
        ],
      }),
    );
    const [big, sharded] = workloads.map((stack) => Annotations.fromStack(stack as NonNullable<typeof stack>));
    big?.hasWarning('*', Match.stringLikeRegexp('workloads\\[0\\]: 30,000 declared variants .* set "workloads\\[0\\]\\.bridge\\.shards" to 3 or more'));
    expect(sharded?.findWarning('*', Match.stringLikeRegexp('declared variants'))).toEqual([]);
  });
});

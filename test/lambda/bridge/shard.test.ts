import { resolveConfig } from '../../../contract/bridge-config';
import { forShard } from '../../../lambda/bridge/config';
import { metricInShard, shardOf } from '../../../lambda/bridge/shard';

describe('shards', () => {
  test('an endpoint always lands on the same shard, and a fleet spreads across all of them', () => {
    expect(shardOf('churn-predictor', 4)).toBe(shardOf('churn-predictor', 4));
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 2000; i++) { const shard = shardOf(`endpoint-${i}`, 4); counts[shard] = (counts[shard] ?? 0) + 1; }
    for (const n of counts) expect(n).toBeGreaterThan(400);
    expect(shardOf('anything', 1)).toBe(0);
  });

  test('metrics follow their endpoint; metrics of no endpoint go to shard 0', () => {
    const endpoint = { namespace: 'AWS/SageMaker', metricName: 'Invocations', dimensions: [{ Name: 'EndpointName', Value: 'e1' }] };
    const owner = shardOf('e1', 3);
    expect([0, 1, 2].filter((index) => metricInShard(endpoint, { index, count: 3 }))).toEqual([owner]);
    const neuron = { namespace: 'neuron_monitor', metricName: 'NeuronCoreUtilization', dimensions: [{ Name: 'InstanceId', Value: 'i-1' }] };
    expect([0, 1, 2].filter((index) => metricInShard(neuron, { index, count: 3 }))).toEqual([0]);
  });

  test('each shard keeps its own state', () => {
    const s3 = resolveConfig({ state: { type: 's3', bucket: 'state-bucket' } }, {});
    expect(forShard(s3, 2, 4).state).toEqual({ type: 's3', bucket: 'state-bucket', key: 'inferwatch/bridge-state-shard-2-of-4.json' });
    expect(forShard(s3, 0, 1).state).toEqual(s3.state);
    const file = resolveConfig({}, {});
    expect(forShard(file, 1, 2).state).toEqual({ type: 'file', directory: '.inferwatch/state/shard-1-of-2' });
    expect(() => forShard(s3, 4, 4)).toThrow('shard 4 of 4 is not a valid shard');
    expect(() => resolveConfig({ shard: { index: 2, count: 2 } }, {})).toThrow('config key "shard.index": index must be below count');
  });
});

import { resolveConfig } from '../../../../contract/bridge-config';
import { Catalog } from '../../../../lambda/bridge/catalog/catalog';
import { metricClass, ReadSchedule } from '../../../../lambda/bridge/cloudwatch/freshness';
import { TrafficSplit, variantKey } from '../../../../lambda/bridge/cloudwatch/idle';

const MIN = 60_000;
const catalog = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor', 'histogram');
const config = resolveConfig({ remoteWrite: { url: 'http://127.0.0.1:9090/api/v1/write' } }, {});

describe('metric classes', () => {
  test.each([
    ['AWS/SageMaker', 'Invocations', 'counters'],
    ['AWS/SageMaker', 'Invocation5XXErrors', 'counters'],
    ['AWS/SageMaker', 'ModelLatency', 'latency'],
    ['AWS/SageMaker', 'ModelLoadingWaitTime', 'latency'],
    ['/aws/sagemaker/Endpoints', 'CPUUtilization', 'utilization'],
    ['/aws/sagemaker/InferenceComponents', 'GPUUtilizationNormalized', 'utilization'],
    ['AWS/SageMaker', 'ConcurrentRequestsPerModel', 'other'],
    // A gauge named ..._count (Neuron's vCPU count) is no timing: read every cycle, not at the latency interval.
    ['neuron_monitor', 'SystemVcpuCount', 'other'],
  ])('%s %s is %s', (namespace, metric, expected) => {
    expect(metricClass(namespace, catalog.resolve(namespace, metric))).toBe(expected);
  });
});

describe('read schedule', () => {
  const HOUR = 60 * MIN;
  const cycle = (end: number, base: number) => ({ readStart: base, fetchStart: base, nextBase: Math.max(base, end - 10 * MIN), end, startedAt: end + 2 * MIN });

  test('without a stored base every class is due and reads as the cycle does', () => {
    const schedule = new ReadSchedule(config, { highWaterMark: 100 * MIN }, cycle(105 * MIN, 90 * MIN));
    for (const c of ['counters', 'latency', 'utilization', 'other'] as const) expect(schedule.of(c)).toEqual({ due: true, settings: { readStart: 90 * MIN, fetchStart: 90 * MIN, nextBase: 95 * MIN } });
    expect(schedule.committed()).toEqual({ latency: { base: 95 * MIN, end: 105 * MIN }, utilization: { base: 95 * MIN, end: 105 * MIN } });
  });

  test('a 10-minute class at a 5-minute schedule is read every other cycle, from its own base, which moves only then', () => {
    const classes = { latency: { base: 95 * MIN, end: 105 * MIN }, utilization: { base: 95 * MIN, end: 105 * MIN } };
    const skip = new ReadSchedule(config, { highWaterMark: 105 * MIN, classes }, cycle(110 * MIN, 95 * MIN));
    expect(skip.of('latency')).toEqual({ due: false, settings: { readStart: 95 * MIN, fetchStart: 95 * MIN, nextBase: 95 * MIN } });
    expect(skip.of('counters').due).toBe(true);
    expect(skip.committed()).toEqual(classes);
    // Everything before the least recent class read was read in full.
    expect(skip.readUpTo).toBe(105 * MIN);
    const read = new ReadSchedule(config, { highWaterMark: 110 * MIN, classes }, cycle(115 * MIN, 100 * MIN));
    expect(read.of('latency')).toEqual({ due: true, settings: { readStart: 95 * MIN, fetchStart: 95 * MIN, nextBase: 105 * MIN } });
    expect(read.committed()).toEqual({ latency: { base: 105 * MIN, end: 115 * MIN }, utilization: { base: 105 * MIN, end: 115 * MIN } });
  });

  test('periods a partial answer left unread make every class due', () => {
    const classes = { latency: { base: 95 * MIN, end: 105 * MIN } };
    const schedule = new ReadSchedule(config, { highWaterMark: 105 * MIN, classes, rereadFrom: 97 * MIN }, { ...cycle(110 * MIN, 95 * MIN), fetchStart: 97 * MIN });
    expect(schedule.of('latency').due).toBe(true);
  });

  test('a class read apart holds its series at its own base, which stays while they are held, and lets go once 3 hours of windows are written past the hold', () => {
    const classes = { latency: { base: 95 * MIN, end: 105 * MIN } };
    // The cycle holds series at its read start (100); the latency class's were cut at its own base (95).
    const cut = new ReadSchedule(config, { highWaterMark: 110 * MIN, classes }, { ...cycle(115 * MIN, 100 * MIN), heldBase: 100 * MIN });
    expect(cut.of('latency')).toEqual({ due: true, settings: { readStart: 95 * MIN, fetchStart: 95 * MIN, nextBase: 105 * MIN, heldBase: undefined } });
    const held = cut.committed(new Set([95 * MIN]));
    // The hold begins at this cycle's window end (115).
    expect(held?.latency).toEqual({ base: 105 * MIN, end: 115 * MIN, held: 95 * MIN, heldSince: 115 * MIN });
    // Not due: its held series wait with it.
    expect(new ReadSchedule(config, { highWaterMark: 115 * MIN, classes: held }, cycle(120 * MIN, 105 * MIN)).committed()).toEqual(held);
    const next = new ReadSchedule(config, { highWaterMark: 120 * MIN, classes: held }, cycle(125 * MIN, 110 * MIN));
    expect(next.of('latency')).toEqual({ due: true, settings: { readStart: 105 * MIN, fetchStart: 95 * MIN, nextBase: 105 * MIN, heldBase: 95 * MIN } });
    expect(next.committed()?.latency).toEqual({ base: 105 * MIN, end: 125 * MIN });
    // Held again: the hold goes on from where it began.
    expect(next.committed(new Set([95 * MIN]))?.latency).toEqual({ base: 105 * MIN, end: 125 * MIN, held: 95 * MIN, heldSince: 115 * MIN });
    // Let go once the cycles have written 3 hours past where the hold began, not when its base is 3 hours old.
    const after = (written: number, startedAt = written + 2 * MIN) => new ReadSchedule(config, { highWaterMark: written, classes: held }, { ...cycle(written + 5 * MIN, 110 * MIN), startedAt }).of('latency').settings.heldBase;
    expect(after(115 * MIN + 3 * HOUR - MIN)).toBe(95 * MIN);
    expect(after(115 * MIN + 3 * HOUR + MIN)).toBeUndefined();
    // Nor by the clock: an outage of 5 hours within the hold, when no cycle ran, wrote nothing.
    expect(after(120 * MIN, 120 * MIN + 5 * HOUR)).toBe(95 * MIN);
    // A state written before heldSince: the held base stands in for where the hold began.
    const legacy = { latency: { base: 105 * MIN, end: 115 * MIN, held: 95 * MIN } };
    expect(new ReadSchedule(config, { highWaterMark: 95 * MIN + 3 * HOUR + MIN, classes: legacy }, cycle(95 * MIN + 3 * HOUR + 6 * MIN, 110 * MIN)).of('latency').settings.heldBase).toBeUndefined();
  });

  test('a read interval that would reach periods the receiver refuses is a config error naming the key', () => {
    expect(() => resolveConfig({ remoteWrite: { url: 'http://127.0.0.1:9090/api/v1/write' }, readIntervals: { latency: '45m' } }, {})).toThrow(
      /config key "readIntervals.latency": 2700s plus revisionWindow, settle and period \(3480s\) must stay under remoteWrite.maxSampleAge/,
    );
  });
});

describe('traffic split', () => {
  const dims = (endpoint: string, variant: string) => [
    { Name: 'EndpointName', Value: endpoint },
    { Name: 'VariantName', Value: variant },
  ];

  test('only variants whose Invocations is listed are read through a sentinel; instance metrics and ended variants never', () => {
    const metrics = [
      { namespace: 'AWS/SageMaker', metricName: 'Invocations', dimensions: dims('a', 'v') },
      { namespace: 'AWS/SageMaker', metricName: 'ModelLatency', dimensions: dims('a', 'v') },
      { namespace: '/aws/sagemaker/Endpoints', metricName: 'CPUUtilization', dimensions: dims('a', 'v') },
      { namespace: 'AWS/SageMaker', metricName: 'ModelLatency', dimensions: dims('b', 'v') },
      { namespace: 'AWS/SageMaker', metricName: 'Invocations', dimensions: dims('gone', 'v') },
      { namespace: 'AWS/SageMaker', metricName: 'Invocations', dimensions: [...dims('a', 'v'), { Name: 'InstanceId', Value: 'i-1' }] },
    ];
    const split = new TrafficSplit(metrics, (dimensions) => dimensions.some((d) => d.Value === 'gone'));
    expect([...split.groups.keys()]).toEqual([variantKey('a', 'v')]);
    expect(split.groups.get(variantKey('a', 'v'))?.metrics.map((m) => m.metricName)).toEqual(['Invocations', 'ModelLatency']);
    expect(split.always.map((m) => `${m.namespace} ${m.metricName} ${m.dimensions.length}`).sort()).toEqual(
      ['/aws/sagemaker/Endpoints CPUUtilization 2', 'AWS/SageMaker Invocations 2', 'AWS/SageMaker Invocations 3', 'AWS/SageMaker ModelLatency 2'].sort(),
    );
    expect(metrics.map((m) => split.keyOf(m))).toEqual([variantKey('a', 'v'), variantKey('a', 'v'), undefined, undefined, undefined, undefined]);
  });

  test('metrics sharing one dimension list (as discovery gives them) are grouped as they would be apart', () => {
    const shared = dims('a', 'v');
    const gone = dims('gone', 'v');
    const lonely = dims('b', 'v');
    const metrics = [
      { namespace: '/aws/sagemaker/Endpoints', metricName: 'CPUUtilization', dimensions: shared },
      { namespace: 'AWS/SageMaker', metricName: 'ModelLatency', dimensions: shared },
      { namespace: 'AWS/SageMaker', metricName: 'Invocations', dimensions: shared },
      { namespace: 'AWS/SageMaker', metricName: 'ModelSetupTime', dimensions: shared },
      { namespace: 'AWS/SageMaker', metricName: 'Invocations', dimensions: gone },
      { namespace: 'AWS/SageMaker', metricName: 'ModelLatency', dimensions: gone },
      { namespace: 'AWS/SageMaker', metricName: 'ModelLatency', dimensions: lonely },
    ];
    const split = new TrafficSplit(metrics, (dimensions) => dimensions === gone);
    expect([...split.groups.keys()]).toEqual([variantKey('a', 'v')]);
    expect(split.groups.get(variantKey('a', 'v'))?.metrics.map((m) => m.metricName)).toEqual(['ModelLatency', 'Invocations']);
    expect(split.always.map((m) => `${m.metricName} ${m.dimensions[0]?.Value}`)).toEqual(['CPUUtilization a', 'ModelSetupTime a', 'Invocations gone', 'ModelLatency gone', 'ModelLatency b']);
    expect(metrics.map((m) => split.keyOf(m))).toEqual([undefined, variantKey('a', 'v'), variantKey('a', 'v'), undefined, undefined, undefined, undefined]);
  });
});

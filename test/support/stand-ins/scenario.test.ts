import { CloudWatchStandIn } from './cloudwatch-stand-in';
import { defaultFleet } from './fleet';
import { applyScenario, dailyTraffic, type Scenario } from './scenario';

const DAY = Date.UTC(2026, 11, 4) / 1000;
const SCENARIO: Scenario = {
  idleEndpoint: 'image-classifier',
  slowVariant: { endpoint: 'churn-predictor', variant: 'blue' },
  latencyFactor: 10,
  failingVariant: { endpoint: 'churn-predictor', variant: 'green' },
  errorShare: 0.4,
  incident: { start: DAY + 12 * 3600, end: DAY + 13 * 3600 },
};
const dims = (endpoint: string, variant: string) => [
  { Name: 'EndpointName', Value: endpoint },
  { Name: 'VariantName', Value: variant },
];

describe('the demo scenario', () => {
  const plain = new CloudWatchStandIn(defaultFleet(), () => (DAY + 86400) * 1000);
  const shaped = new CloudWatchStandIn({ ...defaultFleet(), scenario: applyScenario(SCENARIO) }, () => (DAY + 86400) * 1000);
  const at = (standIn: CloudWatchStandIn, metric: string, d: ReturnType<typeof dims>, stat: string, t: number) => standIn.valueAt('AWS/SageMaker', metric, d, stat, t * 1000);

  test('traffic follows the time of day: lowest about 04:00 UTC, highest about 16:00', () => {
    const hours = Array.from({ length: 24 }, (_, h) => dailyTraffic(DAY + h * 3600));
    expect(hours.indexOf(Math.min(...hours))).toBe(4);
    expect(hours.indexOf(Math.max(...hours))).toBe(16);
    const t = DAY + 16 * 3600;
    expect(at(shaped, 'Invocations', dims('churn-predictor', 'green'), 'Sum', t)).toBe(Math.round((at(plain, 'Invocations', dims('churn-predictor', 'green'), 'Sum', t) ?? NaN) * dailyTraffic(t)));
  });

  test('the idle endpoint is called 0 times and has no latency', () => {
    const t = DAY + 9 * 3600;
    expect(at(shaped, 'Invocations', dims('image-classifier', 'AllTraffic'), 'Sum', t)).toBe(0);
    expect(at(shaped, 'ModelLatency', dims('image-classifier', 'AllTraffic'), 'p99', t)).toBeUndefined();
  });

  test('during the incident one variant is slower and another answers 5XX; before it, neither', () => {
    for (const [t, during] of [[SCENARIO.incident.start - 60, false], [SCENARIO.incident.start, true], [SCENARIO.incident.end - 60, true], [SCENARIO.incident.end, false]] as const) {
      const p99 = at(shaped, 'ModelLatency', dims('churn-predictor', 'blue'), 'p99', t) ?? NaN;
      const plainP99 = at(plain, 'ModelLatency', dims('churn-predictor', 'blue'), 'p99', t) ?? NaN;
      expect({ t, ratio: Math.round((p99 / plainP99) * 1000) / 1000 }).toEqual({ t, ratio: during ? SCENARIO.latencyFactor : 1 });
      const errors = at(shaped, 'Invocation5XXErrors', dims('churn-predictor', 'green'), 'Sum', t);
      const calls = at(shaped, 'Invocations', dims('churn-predictor', 'green'), 'Sum', t) ?? NaN;
      if (during) expect(errors).toBe(Math.round(calls * SCENARIO.errorShare));
      else expect(errors === undefined || errors <= 1).toBe(true);
    }
  });
});

import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { parseInferwatchConfig } from '../../../lib/config/inferwatch-config';
import { buildInferwatch } from '../../../lib/inferwatch-app';

describe('rollout config: bridge.reservedConcurrency', () => {
  test('left out, the bridge reserves nothing (a deploy into a new account, whose quota is 10, must not fail on it)', () => {
    expect(parseInferwatchConfig(undefined).workloads[0]?.bridge.reservedConcurrency).toBeUndefined();
  });

  test('fewer than the shards is refused with the key named; enough reaches the function', () => {
    expect(() => parseInferwatchConfig({ workloads: [{ bridge: { shards: 3, reservedConcurrency: 2 } }] })).toThrow(
      'config key "workloads[0].bridge.reservedConcurrency": must be at least shards (3)',
    );
    const { workloads } = buildInferwatch(new App(), parseInferwatchConfig({ workloads: [{ bridge: { shards: 2, reservedConcurrency: 2 } }] }));
    Template.fromStack(workloads[0] as never).hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 2, Environment: Match.anyValue() });
  });
});

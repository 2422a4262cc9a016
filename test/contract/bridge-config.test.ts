import { checkBridgeConfig, resolveConfig } from '../../contract/bridge-config';
import { ConfigError } from '../../contract/errors';

describe('config', () => {
  test('defaults: the three inference namespaces, 60 s periods, 120 s settle, 15 min lookback, 10 min revision window', () => {
    const config = resolveConfig({}, { AWS_REGION: 'eu-west-1' });
    expect(config).toMatchObject({
      region: 'eu-west-1',
      period: 60,
      settle: 120,
      initialLookback: 900,
      revisionWindow: 600,
      namespaces: ['AWS/SageMaker', '/aws/sagemaker/Endpoints', '/aws/sagemaker/InferenceComponents', 'neuron_monitor'],
      namingProfile: 'inferwatch',
      state: { type: 'file', directory: '.inferwatch/state' },
      remoteWrite: { maxSamplesPerRequest: 2000, timeout: 10, maxAttempts: 6 },
    });
  });

  test('highResolution: off unless asked, a boolean', () => {
    expect(resolveConfig({}, {}).highResolution).toBe(false);
    expect(resolveConfig({ highResolution: true }, {}).highResolution).toBe(true);
    expect(() => resolveConfig({ highResolution: 10 }, {})).toThrow('config key "highResolution"');
  });

  test('a neuronNamespace the namespaces leave out is an error naming both keys; leaving either out is fine', () => {
    expect(() => resolveConfig({ neuronNamespace: 'Prod/Neuron', namespaces: ['AWS/SageMaker'] }, {})).toThrow(/config key "namespaces" must include the "neuronNamespace" \(Prod\/Neuron\)/);
    expect(resolveConfig({ neuronNamespace: 'Prod/Neuron', namespaces: ['AWS/SageMaker', 'Prod/Neuron'] }, {}).namespaces).toEqual(['AWS/SageMaker', 'Prod/Neuron']);
    expect(resolveConfig({ neuronNamespace: 'Prod/Neuron' }, {}).namespaces).toContain('Prod/Neuron');
    expect(resolveConfig({ namespaces: ['AWS/SageMaker'] }, {}).namespaces).toEqual(['AWS/SageMaker']);
    expect(() => checkBridgeConfig({ neuronNamespace: 'N', namespaces: ['AWS/SageMaker'] }, 'workloads[0].bridge.config.')).toThrow('config key "workloads[0].bridge.config.namespaces" must include the "workloads[0].bridge.config.neuronNamespace" (N)');
    expect(() => checkBridgeConfig({ neuronNamespace: 'N', namespaces: ['N'] }, 'workloads[0].bridge.config.')).not.toThrow();
  });

  test('durations take seconds or Prometheus-style strings', () => {
    expect(resolveConfig({ period: '5m', settle: '90s', initialLookback: '1h', revisionWindow: '15m' }, {})).toMatchObject({ period: 300, settle: 90, initialLookback: 3600, revisionWindow: 900 });
  });

  test('environment fills what the file leaves out', () => {
    const config = resolveConfig({}, { INFERWATCH_REMOTE_WRITE_URL: 'https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write', INFERWATCH_STATE_BUCKET: 'bridge-state' });
    expect(config.remoteWrite.url).toContain('aps-workspaces');
    expect(config.state).toEqual({ type: 's3', bucket: 'bridge-state', key: 'inferwatch/bridge-state.json' });
  });

  test('a workspace id instead of a URL; INFERWATCH_REMOTE_WRITE_URL does not add a URL beside it', () => {
    const config = resolveConfig({ remoteWrite: { workspaceId: 'ws-0a1b2c3d' } }, { INFERWATCH_REMOTE_WRITE_URL: 'http://127.0.0.1:9090/api/v1/write' });
    expect(config.remoteWrite).toMatchObject({ workspaceId: 'ws-0a1b2c3d' });
    expect(config.remoteWrite.url).toBeUndefined();
  });

  test.each([
    [{ period: 45 }, 'config key "period": must be 1, 5, 10, 30 or a multiple of 60 seconds'],
    [{ settle: -1 }, 'config key "settle": must not be negative'],
    [{ settle: '2 minutes' }, 'config key "settle": must be seconds or a duration'],
    [{ revisionWindow: 90 }, 'config key "revisionWindow": must be a multiple of period (60s)'],
    [{ remoteWrite: { url: 'localhost:9090/api/v1/write' } }, 'config key "remoteWrite.url": must be an absolute http(s) URL'],
    [{ remoteWrite: { url: 'http://bridge:s3cret@x/api/v1/write' } }, 'config key "remoteWrite.url": must not contain credentials (user:password@): put them in "remoteWrite.auth" instead'],
    [{ remoteWrite: { url: 'https://token@x/api/v1/write' } }, 'config key "remoteWrite.url": must not contain credentials'],
    [{ remoteWrite: { url: 'https://x/api/v1/write', queryUrl: 'https://bridge:s3cret@x/api/v1/query' } }, 'config key "remoteWrite.queryUrl": must not contain credentials (user:password@)'],
    [{ remoteWrite: { url: 'http://x', batch: 5 } }, 'unknown config key "remoteWrite.batch"'],
    [{ periodSeconds: 60 }, 'unknown config key "periodSeconds"'],
    [{ region: 'Europe' }, 'config key "region": must be an AWS region'],
    [{ accountId: '12345' }, 'config key "accountId": must be a 12-digit AWS account id'],
    [{ namingProfile: 'cloudwatch_exporter' }, 'config key "namingProfile"'],
    [{ remoteWrite: { url: 'http://x', auth: { type: 'basic', username: 'u' } } }, 'config key "remoteWrite.auth": basic auth needs exactly one of password or passwordEnv'],
    [{ state: { type: 's3' } }, 'config key "state.bucket"'],
    [{ remoteWrite: { url: 'http://x', workspaceId: 'ws-1234' } }, 'config key "remoteWrite": give "remoteWrite.url" or "remoteWrite.workspaceId", not both'],
    [{ remoteWrite: { workspaceId: 'https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1' } }, 'config key "remoteWrite.workspaceId": must be an AMP workspace id'],
    [{ remoteWrite: { workspaceId: 'ws-1234', auth: { type: 'bearer', token: 't' } } }, 'config key "remoteWrite.auth.type": must be sigv4 with "remoteWrite.workspaceId"'],
    [{ catalog: [{ namespace: 'X', metrics: [{ metric: 'A', type: 'counter', name: 'a' }] }] }, 'config key "catalog.0.metrics.0.name": counter "a" must end in _total'],
  ])('rejects %j naming the key', (raw, message) => {
    expect(() => resolveConfig(raw, {})).toThrow(ConfigError);
    expect(() => resolveConfig(raw, {})).toThrow(message);
  });

  test('a config that is not a mapping is rejected as such', () => {
    expect(() => resolveConfig('period: 60', {})).toThrow('config must be a mapping of keys to values');
    expect(() => resolveConfig([1], {})).toThrow('config must be a mapping of keys to values');
    expect(resolveConfig(null, {}).period).toBe(60);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../contract/errors';
import { loadDeployedConfig } from '../../../lambda/bridge/deployed-config';

describe('loadDeployedConfig: the shipped config file with the deploy-time keys of INFERWATCH_CONFIG over it', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'iw-deployed-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const deployTime = JSON.stringify({ remoteWrite: { workspaceId: 'ws-1234', auth: { type: 'sigv4' } }, state: { type: 's3', bucket: 'state-bucket', key: 'inferwatch/bridge-state.json' } });

  test('a relative INFERWATCH_CONFIG_ASSET is read from beside the bundle; the environment adds the workspace and the state', () => {
    writeFileSync(join(dir, 'bridge-config.json'), JSON.stringify({ period: 300, catalog: [{ namespace: 'Team/X', metrics: [{ metric: 'Depth', type: 'gauge', name: 'team_depth' }] }] }));
    const config = loadDeployedConfig({ INFERWATCH_CONFIG_ASSET: 'bridge-config.json', INFERWATCH_CONFIG: deployTime, AWS_REGION: 'eu-west-1' }, dir);
    expect(config.period).toBe(300);
    expect(config.catalog[0]?.namespace).toBe('Team/X');
    expect(config.remoteWrite.workspaceId).toBe('ws-1234');
    expect(config.state).toEqual({ type: 's3', bucket: 'state-bucket', key: 'inferwatch/bridge-state.json' });
    expect(config.region).toBe('eu-west-1');
  });

  test('without INFERWATCH_CONFIG_ASSET it is loadConfig: JSON in INFERWATCH_CONFIG (the CLI, older deployments)', () => {
    expect(loadDeployedConfig({ INFERWATCH_CONFIG: '{"period": 120}' }, dir).period).toBe(120);
  });

  test('a missing file, bad JSON, a non-object, an invalid key or a key in both places is a ConfigError that says which', () => {
    const env = (asset: string) => ({ INFERWATCH_CONFIG_ASSET: asset, INFERWATCH_CONFIG: deployTime });
    expect(() => loadDeployedConfig(env('bridge-config.json'), dir)).toThrow(ConfigError);
    expect(() => loadDeployedConfig(env('bridge-config.json'), dir)).toThrow(/cannot read the config file shipped with the function \(INFERWATCH_CONFIG_ASSET=bridge-config\.json\).*redeploy/);
    writeFileSync(join(dir, 'bad.json'), '{period: 300}');
    expect(() => loadDeployedConfig(env('bad.json'), dir)).toThrow('(INFERWATCH_CONFIG_ASSET=bad.json) is not valid JSON');
    writeFileSync(join(dir, 'list.json'), '[]');
    expect(() => loadDeployedConfig(env('list.json'), dir)).toThrow('must be a JSON object of config keys');
    writeFileSync(join(dir, 'invalid.json'), '{"period": 45}');
    expect(() => loadDeployedConfig(env(join(dir, 'invalid.json')), '/nowhere')).toThrow('config key "period"');
    writeFileSync(join(dir, 'both.json'), '{"state": {"type": "file", "directory": "/tmp/x"}}');
    expect(() => loadDeployedConfig(env('both.json'), dir)).toThrow('config key(s) "state" are set both in');
    expect(() => loadDeployedConfig({ INFERWATCH_CONFIG_ASSET: 'invalid.json', INFERWATCH_CONFIG: '{oops' }, dir)).toThrow('environment variable INFERWATCH_CONFIG is not valid JSON');
  });
});

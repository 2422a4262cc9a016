import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, loadConfigFile } from '../../../lambda/bridge/config';

describe('config', () => {
  test('entry points read a file, else JSON in INFERWATCH_CONFIG, else defaults', () => {
    expect(loadConfig({ INFERWATCH_CONFIG: '{"period": 300}' }).period).toBe(300);
    expect(loadConfig({}).period).toBe(60);
    expect(() => loadConfig({ INFERWATCH_CONFIG: '{period: 300}' })).toThrow('environment variable INFERWATCH_CONFIG is not valid JSON');
    expect(() => loadConfig({ INFERWATCH_CONFIG: '{"period": 45}' })).toThrow('config key "period"');
  });

  test('reads YAML files and names the file when it cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iw-config-'));
    writeFileSync(join(dir, 'ok.yaml'), 'period: 2m\nrevisionWindow: 10m\nneuronNamespace: Neuron\n');
    expect(loadConfigFile(join(dir, 'ok.yaml'), {})).toMatchObject({ period: 120, namespaces: ['AWS/SageMaker', '/aws/sagemaker/Endpoints', '/aws/sagemaker/InferenceComponents', 'Neuron'] });
    writeFileSync(join(dir, 'bad.yaml'), 'period: 2m\nremoteWrite:\n  url: [http://x\n');
    // One line, as for the rollout config under cdk synth: the file, the line, the key before the mistake.
    expect(() => loadConfigFile(join(dir, 'bad.yaml'), {})).toThrow(/^YAML syntax error in .*bad\.yaml line \d+, column \d+ \(after key "remoteWrite\.url"\): [^\n]+$/);
    expect(() => loadConfigFile(join(dir, 'missing.yaml'), {})).toThrow(/cannot read config file .*missing\.yaml/);
  });
});

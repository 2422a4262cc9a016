import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfigFile } from '../../contract/config-file';
import { ConfigError } from '../../contract/errors';

const work = mkdtempSync(join(tmpdir(), 'iw-config-file-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function errorFor(text: string): string {
  const file = join(work, 'inferwatch.config.yaml');
  writeFileSync(file, text);
  try {
    readConfigFile(file);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message.replace(file, 'FILE');
  }
  throw new Error('no error');
}

describe('a rollout config file with a YAML mistake: one line with the file, line, column and the key before it', () => {
  test.each([
    ['an unclosed flow sequence', 'monitoring:\n  account: "111111111111"\n  region: [eu-west-1\nworkloads:\n  - {}\n', 'YAML syntax error in FILE line 4, column 1 (after key "monitoring.region"): Flow sequence in block collection must be sufficiently indented and end with a ]'],
    ['a bad indent inside a list item', 'workloads:\n  - region: eu-west-1\n  - region: eu-west-2\n    bridge:\n      shards: 2\n     memoryMiB: 1024\n', 'YAML syntax error in FILE line 6, column 1 (after key "workloads[1].bridge.shards"): All mapping items must start at the same column'],
    ['an unclosed quote', 'monitoring:\n  account: "111111111111\nworkloads: []\n', 'YAML syntax error in FILE line 4, column 1 (after key "monitoring.account"): Missing closing "quote'],
    ['a duplicate key', 'stackPrefix: A\nstackPrefix: B\n', 'YAML syntax error in FILE line 2, column 1 (after key "stackPrefix"): Map keys must be unique'],
  ])('%s', (_name, text, expected) => {
    const message = errorFor(text);
    expect(message).toBe(expected);
    expect(message).not.toContain('\n');
  });

  test('a valid file reads as plain data; JSON is YAML', () => {
    const file = join(work, 'ok.json');
    writeFileSync(file, '{"workloads": [{"region": "eu-west-1"}]}');
    expect(readConfigFile(file)).toEqual({ workloads: [{ region: 'eu-west-1' }] });
  });
});

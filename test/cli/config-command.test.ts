import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfigText } from '../../cli/config-command';
import { ConfigError } from '../../contract/errors';

describe('inferwatch config check', () => {
  test('a YAML syntax error is one ConfigError line naming the file, the line and the key, for either config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iw-config-check-'));
    const rollout = join(dir, 'inferwatch.config.yaml');
    writeFileSync(rollout, 'stackPrefix: Inferwatch\nmonitoring:\n  region: eu-west-1\n  alertEmails: [ops@example.com\n');
    const bridge = join(dir, 'inferwatch.yaml');
    writeFileSync(bridge, 'period: 60\nsettle: [120\n');
    for (const [file, key] of [
      [rollout, 'monitoring.alertEmails'],
      [bridge, 'settle'],
    ] as const) {
      const error = (() => {
        try {
          checkConfigText(file, {});
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).not.toContain('\n');
      expect(message).toContain(`YAML syntax error in ${file} line `);
      expect(message).toContain(`(after key "${key}")`);
    }
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkStateDirectory, parseInstant } from '../../cli/bridge-command';
import { packageVersion } from '../../cli/main';
import { ConfigError } from '../../contract/errors';

const WALL = Date.UTC(2026, 10, 29, 12);

describe('--now', () => {
  test('accepts ISO times and epoch milliseconds', () => {
    expect(parseInstant('2026-11-29T11:00:00Z', WALL)).toBe(Date.UTC(2026, 10, 29, 11));
    expect(parseInstant('2026-11-29', WALL)).toBe(Date.UTC(2026, 10, 29));
    expect(parseInstant(String(WALL - 3600_000), WALL)).toBe(WALL - 3600_000);
  });

  test.each([
    ['0', 'before 2009-01-01'],
    ['-5', 'before 2009-01-01'],
    [String(WALL / 1000), 'looks like epoch seconds'],
    [String(WALL + 2 * 86400_000), 'more than a day in the future'],
    ['2126-01-01T00:00:00Z', 'more than a day in the future'],
    ['yesterday', 'is not a time'],
    ['1e12', 'is not a time'],
  ])('rejects %s (%s), showing the expected form', (value, why) => {
    expect(() => parseInstant(value, WALL)).toThrow(why);
    expect(() => parseInstant(value, WALL)).toThrow('expected an ISO 8601 time such as 2026-01-31T12:00:00Z, or epoch milliseconds');
  });
});

test('a state directory under a file is refused, naming the directory', () => {
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-cli-unit-'));
  try {
    writeFileSync(join(work, 'file'), '');
    expect(() => checkStateDirectory(join(work, 'file', 'state'))).toThrow(ConfigError);
    expect(() => checkStateDirectory(join(work, 'file', 'state'))).toThrow(`state directory ${join(work, 'file', 'state')} is not usable`);
    expect(() => checkStateDirectory(join(work, 'fresh', 'state'))).not.toThrow();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('the version comes from the package', () => {
  expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
});

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UsageReport } from './preload';

/**
 * Each way Node writes a file, under the state directory and outside it: only the first count. The n-th way writes n
 * times 'hello', so a way missed or counted twice shows in the total.
 */
const SCRIPT = `
const fs = require('node:fs'), fsp = require('node:fs/promises'), { join } = require('node:path');
const dir = process.env.BENCH_STATE_DIR, out = process.env.OUTSIDE;
let n = 0;
const next = () => 'hello'.repeat(++n);
(async () => {
  for (const base of [dir, out]) {
    n = 0;
    fs.writeFileSync(join(base, 'a'), next());
    fs.writeFileSync(join(base, 'b'), Buffer.from(next()));
    fs.appendFileSync(join(base, 'a'), next());
    await new Promise((r) => fs.writeFile(join(base, 'c'), next(), r));
    await fsp.writeFile(join(base, 'd'), next());
    await fsp.appendFile(join(base, 'd'), next());
    const h = await fsp.open(join(base, 'e'), 'w');
    await h.write(next());
    await h.writeFile(next());
    await h.close();
    await new Promise((r) => { const s = fs.createWriteStream(join(base, 'f')); s.write(next()); s.end(r); });
    const fd = fs.openSync(join(base, 'g'), 'w');
    fs.writeSync(fd, next());
    fs.closeSync(fd);
    await fsp.readFile(join(base, 'a'));
    fs.readFileSync(join(base, 'b'));
  }
})();
`;

test('the benchmark preload counts bytes written and read under the state directory, each way Node writes, once', () => {
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-preload-'));
  const stateDir = join(work, 'state');
  const outside = join(work, 'outside');
  const usageFile = join(work, 'usage.json');
  spawnSync('mkdir', [stateDir, outside]);
  try {
    const run = spawnSync(process.execPath, ['--require', 'tsx/cjs', '--require', join(__dirname, 'preload.ts'), '-e', SCRIPT], {
      env: { ...process.env, BENCH_STATE_DIR: stateDir, BENCH_USAGE_FILE: usageFile, OUTSIDE: outside },
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    const report = JSON.parse(readFileSync(usageFile, 'utf8')) as UsageReport;
    // 10 ways: 5 x (1 + 2 + ... + 10) bytes; reads of a (5 x (1 + 3)) and b (5 x 2).
    expect(report).toMatchObject({ bytesWritten: 275, bytesRead: 30, filesWritten: 7 });
    expect(report.maxRSS).toBeGreaterThan(0);
    expect(report.userCPUTime).toBeGreaterThan(0);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

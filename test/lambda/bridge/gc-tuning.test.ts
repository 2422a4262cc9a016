import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const MODULE = join(__dirname, '..', '..', '..', 'lambda', 'bridge', 'gc-tuning.ts');

/**
 * The same allocation as a full read in miniature (a live set kept across churn), in a fresh process capped as the
 * Lambda caps its heap: counts the full (mark-compact) collections with and without the tuning.
 */
function majorCollections(tuned: boolean): number {
  const script = `
    const { PerformanceObserver, constants } = require('node:perf_hooks');
    ${tuned ? `require(${JSON.stringify(MODULE)}).tuneGarbageCollector();` : ''}
    let major = 0;
    new PerformanceObserver((list) => { for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major += 1; }).observe({ entryTypes: ['gc'] });
    const live = [];
    for (let i = 0; i < 400_000; i++) live.push({ key: 'series-' + i, frontier: i, total: i * 2 });
    let sink = 0;
    for (let round = 0; round < 40; round++) {
      const garbage = [];
      for (let i = 0; i < 200_000; i++) garbage.push({ t: new Date(i), v: [i, i + 1], s: 'x' + i });
      live[round] = garbage[round];
      sink += garbage.length;
    }
    setTimeout(() => process.stdout.write(String(major) + ' ' + sink), 10);
  `;
  const run = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), '--max-old-space-size=307', '-e', script], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return Number(run.stdout.split(' ')[0]);
}

test('tuneGarbageCollector: far fewer full collections for the same allocation under the Lambda heap cap', () => {
  const untuned = majorCollections(false);
  const tuned = majorCollections(true);
  expect(untuned).toBeGreaterThan(4);
  expect(tuned).toBeLessThan(untuned * 0.75);
}, 60_000);

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/harness/run-bridge';
import { cycleEstimate, variantsPerShardByCpu } from '../../contract/bridge-capacity';
import { shardSizingWarning } from '../../lib/config/bridge-sizing';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

/** The README is a short front door: the reference lives in docs/. */
test('the README is at most 400 lines', () => {
  expect(readme.split('\n').length).toBeLessThanOrEqual(400);
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading.toLowerCase().replace(/[^\w\s-]/g, '').trim().replace(/\s/g, '-');
}

test('the table of contents links every section, and every link lands on a heading', () => {
  const contents = /\*\*Contents:\*\*([\s\S]*?)\n\n/.exec(readme)?.[1] ?? '';
  const links = [...contents.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]);
  const sections = [...readme.matchAll(/^##{1,2} (.+)$/gm)].map((m) => anchor(m[1] as string));
  const topLevel = [...readme.matchAll(/^## (.+)$/gm)].map((m) => anchor(m[1] as string));
  expect(links.filter((link) => !sections.includes(link as string))).toEqual([]);
  expect(topLevel.filter((section) => !links.includes(section))).toEqual([]);
});

test("the README's shard sizes are the sizing check's arithmetic: each row's cycles and variants as contract/bridge-capacity.ts computes them", () => {
  const rows = [...readme.matchAll(/^\| ([\d,]+) MB \(([\d.]+)(?:, default)?\) \| ([\d.]+) CPU-s: (\d+) s \| ([\d.]+) CPU-s: \**(\d+) s\**; ([\d,]+): \**(\d+) s\** \| ([\d,]+) \| \*\*([\d,]+) variants\*\* \|$/gm)];
  expect(rows.map((row) => row[1])).toEqual(['512', '1,024', '1,769']);
  const int = (text: string | undefined) => Number((text ?? '').replace(/,/g, ''));
  for (const row of rows) {
    const memoryMiB = int(row[1]);
    const byCpu = variantsPerShardByCpu({ memoryMiB, timeoutSeconds: 240, scheduleMinutes: 5 });
    const byMemory = mostVariantsByMemory(memoryMiB);
    const variants = Math.min(byCpu, byMemory);
    const e = cycleEstimate({ variants, memoryMiB });
    expect(row.slice(2)).toEqual([
      String(Number(e.share.toFixed(2))),
      e.steadyCpuSeconds.toFixed(1),
      (e.steadyCpuSeconds / e.share).toFixed(0),
      e.catchUpCpuSeconds.toFixed(1),
      (e.catchUpCpuSeconds / e.share).toFixed(0),
      e.catchUpCalls.toLocaleString('en-US'),
      e.catchUpCallSeconds.toFixed(0),
      byMemory.toLocaleString('en-US'),
      variants.toLocaleString('en-US'),
    ]);
  }
});

/** The most histogram variants one shard of this memory carries before synth's memory warning. */
function mostVariantsByMemory(memoryMiB: number): number {
  let low = 0;
  let high = 1_000_000;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (shardSizingWarning({ fleet: { variants: mid, neuronHosts: 0 }, shards: 1, memoryMiB }, 'w') === undefined) low = mid;
    else high = mid - 1;
  }
  return low;
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/harness/run-bridge';

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

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { documents, regenerate } from '../../bin/docs-figures';
import { REPO_ROOT } from '../support/harness/run-bridge';

/**
 * Every command output the README and docs/ quote is what the command prints today, byte for byte: the blocks
 * between `<!-- figures: … -->` markers are rerun here. `npm run docs:figures` rewrites them after a change.
 */
const marked = documents(REPO_ROOT).filter((file) => readFileSync(file, 'utf8').includes('<!-- figures: '));

test('the quoted commands are where the docs quote bills: the cost examples and the measured bill', () => {
  expect(marked.map((file) => relative(REPO_ROOT, file)).sort()).toEqual(['README.md', 'docs/cli.md', 'docs/configuration.md', 'docs/measured.md']);
});

test.each(marked.map((file) => [relative(REPO_ROOT, file), file]))('%s quotes what its commands print (npm run docs:figures rewrites it)', (_name, file) => {
  const figures = regenerate(file, REPO_ROOT);
  expect(figures.current).toBe(figures.generated);
}, 60_000);

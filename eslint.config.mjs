import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

/** An import of one of `folders` by a relative path, from any depth: `../lib/x`, `../../../lambda/bridge/y`. */
function folderImport(folders, message) {
  return { regex: `^(\\.\\./)+(${folders.join('|')})(/|$)`, message };
}

/** The import direction of docs/architecture.md: contract/ <- lib/, lambda/ <- cli/. */
function onlyImports(restricted) {
  return ['error', { patterns: restricted }];
}

const NOT_CONTRACT = folderImport(['bin', 'lib', 'lambda', 'cli', 'demo', 'test'], 'contract/ imports no other folder of the project: both synth and the Lambdas load it.');
const LIB = folderImport(['bin', 'lambda', 'cli', 'demo', 'test'], 'lib/ (synth) imports contract/ only: what it shares with the Lambdas belongs in contract/, and a Lambda module would load its AWS SDK clients into cdk synth.');
const LAMBDA = folderImport(['bin', 'lib', 'cli', 'demo', 'test'], 'lambda/ holds what the Lambdas run: it imports contract/, never lib/ (synth) or cli/.');
const CLI_LIB = folderImport(['lib'], 'cli/ imports lambda/ and contract/; lib/ only for the rollout config, in cli/config-command.ts.');
const CLI = folderImport(['bin', 'demo', 'test'], 'cli/ imports lambda/ and contract/.');

/**
 * Ceilings measured on the tree when these rules came in (issue 20): a function may get simpler or shorter, never
 * longer or more branched. Lower a number when the code under it shrinks.
 */
function ceilings(complexity, lines) {
  return { complexity: ['error', complexity], 'max-lines-per-function': ['error', { max: lines, skipBlankLines: true, skipComments: true }] };
}

export default tseslint.config(
  { ignores: ['dist/**', 'cdk.out/**', 'node_modules/**', '**/*.js', '**/*.mjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  { files: ['contract/**/*.ts'], rules: { 'no-restricted-imports': onlyImports([NOT_CONTRACT]), ...ceilings(21, 38) } },
  { files: ['lib/**/*.ts'], rules: { 'no-restricted-imports': onlyImports([LIB]), ...ceilings(24, 148) } },
  { files: ['lambda/**/*.ts'], rules: { 'no-restricted-imports': onlyImports([LAMBDA]) } },
  { files: ['lambda/bridge/**/*.ts'], rules: ceilings(23, 113) },
  { files: ['lambda/grafana-provisioner/**/*.ts'], rules: ceilings(14, 25) },
  { files: ['cli/**/*.ts'], rules: { 'no-restricted-imports': onlyImports([CLI, CLI_LIB]), ...ceilings(16, 57) } },
  // The one place cli/ needs lib/: `inferwatch config check` validates the CDK rollout config as `cdk synth` does.
  { files: ['cli/config-command.ts'], rules: { 'no-restricted-imports': onlyImports([CLI]) } },
  { files: ['demo/**/*.ts'], rules: ceilings(22, 75) },
  { files: ['test/**/*.ts'], rules: ceilings(52, 361) },
);

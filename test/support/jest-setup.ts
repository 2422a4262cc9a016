// The SDK's notice that its 2027 releases need Node 22 says nothing about the code under test.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// CI judges a submission on the same property cases every run: FC_SEED, else one fixed seed. Elsewhere every run
// draws new cases, so new counterexamples keep turning up; each one found goes in as a fixed case beside its property.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a setup file runs before the test's imports
const fc = require('fast-check') as typeof import('fast-check');
if (process.env.CI === 'true' || process.env.FC_SEED !== undefined) fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261204) });

// The SDK's notice that its 2027 releases need Node 22 says nothing about the code under test.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// CI judges a submission on the same property cases every run: FC_SEED, else one fixed seed. Elsewhere every run
// draws new cases, so new counterexamples keep turning up; each one found goes in as a fixed case beside its property.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a setup file runs before the test's imports
const fc = require('fast-check') as typeof import('fast-check');
if (process.env.CI === 'true' || process.env.FC_SEED !== undefined) fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261204) });

// No test may reach AWS: a client with no stand-in of its own (the PromQL source's discovery, on by default, in a
// unit test that mocks only the SDK's CloudWatch client) gets a refused connection at once, not a DNS lookup or, on a
// networked machine, a real AWS answer. A test that needs an endpoint sets its service's own variable, which wins.
process.env.AWS_ENDPOINT_URL ??= 'http://127.0.0.1:9';

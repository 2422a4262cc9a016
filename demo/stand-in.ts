/**
 * `npm run stand-in`: the local AWS stand-in alone, to try the CLI by hand. CloudWatch, SageMaker and the tagging API
 * over the demo's simulated fleet, and AMP (one ACTIVE workspace) in front of a local Prometheus. Prints the
 * environment to export and command lines to try, then serves until Ctrl-C.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AmpStandIn } from '../test/support/stand-ins/amp-stand-in';
import { AwsStandIn } from '../test/support/stand-ins/aws-stand-in';
import { defaultFleet } from '../test/support/stand-ins/fleet';
import { ensurePrometheus, LocalPrometheus } from '../test/support/harness/prometheus';

/** The workspace id the stand-in's AMP answers for (any well-formed id would do). */
export const STAND_IN_WORKSPACE = 'ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789';

function instructions(env: Record<string, string>, prometheus: LocalPrometheus, stateDir: string, endpoints: number): string {
  const exports = Object.entries(env).map(([key, value]) => `export ${key}=${value}`);
  return `inferwatch stand-in: local CloudWatch, SageMaker, tagging API and AMP (${endpoints} simulated endpoints, one inf1 host)
  AMP workspace ${STAND_IN_WORKSPACE}, stored in the Prometheus at ${prometheus.url}

In another shell, export:

${exports.join('\n')}
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

then try:

npx inferwatch bridge --dry-run | head -n 20
npx inferwatch bridge --once --workspace ${STAND_IN_WORKSPACE} --state-dir ${stateDir}
npx inferwatch doctor --workspace ${STAND_IN_WORKSPACE}
npx inferwatch cost --discover

and look at what the bridge wrote: ${prometheus.url}/graph?g0.expr=aws_sagemaker_invocations_total
Ctrl-C stops everything.
`;
}

async function main(): Promise<void> {
  ensurePrometheus((line) => process.stdout.write(`${line}\n`));
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-stand-in-'));
  const prometheus = await new LocalPrometheus().start();
  const aws = await new AwsStandIn(defaultFleet('neuron_monitor', 3, { shapes: true })).start();
  const amp = await new AmpStandIn(aws.env().AWS_REGION, prometheus.url).start();
  amp.addWorkspace(STAND_IN_WORKSPACE);
  const stop = async () => {
    await Promise.allSettled([aws.stop(), amp.stop(), prometheus.stop()]);
    rmSync(work, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  // The AMP client signs with the keys its stand-in checks; the other services take the same ones.
  process.stdout.write(instructions({ ...aws.env(), ...amp.env() }, prometheus, join(work, 'state'), aws.fleet.endpoints.length));
}

if (require.main === module) {
  main().catch((error: Error) => {
    process.stderr.write(`stand-in failed: ${error.message}\n`);
    process.exit(1);
  });
}

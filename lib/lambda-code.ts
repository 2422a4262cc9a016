import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';

/** The package root: the repository in a checkout, `dist/` in the built package. */
const ROOT = join(__dirname, '..');

type CodeProps = Pick<nodejs.NodejsFunctionProps, 'entry' | 'handler' | 'projectRoot' | 'depsLockFilePath' | 'code'>;

/**
 * Where a Lambda's code comes from. In a checkout, the TypeScript entry, bundled by CDK at synth. In the
 * installed package there are no sources (nor esbuild, a dev dependency): the bundle built when the package was
 * packed (`dist/lambda-bundles/<name>/`, see bin/package-assets.js), with its data files beside it.
 */
export function lambdaCode(name: 'bridge' | 'grafana-provisioner'): CodeProps {
  const entry = join(ROOT, 'lambda', name, 'handler.ts');
  if (existsSync(entry)) return { entry, handler: 'handler', projectRoot: ROOT, depsLockFilePath: join(ROOT, 'package-lock.json') };
  const bundle = join(ROOT, 'lambda-bundles', name);
  if (!existsSync(join(bundle, 'index.js'))) throw new Error(`inferwatch: neither ${entry} nor the prebuilt ${bundle}/index.js exists; reinstall the package (npm pack builds it)`);
  return { code: lambda.Code.fromAsset(bundle), handler: 'index.handler' };
}

import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, posix, relative, sep } from 'node:path';
import { Stage, Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { ConfigError } from '../contract/errors';
import { CONFIG_ASSET_ENV, CONFIG_ASSET_FILE } from '../contract/deployed-config';
import type { lambdaCode } from './lambda-code';

type CodeProps = ReturnType<typeof lambdaCode>;

/**
 * The bridge's settings as a file in its code asset, instead of in an environment variable: Lambda allows 4 KB
 * for all of a function's variables together, and a custom catalog alone passes that. The file is written at
 * synth, named by its content's hash, so a changed config changes the asset (and CDK's bundling cache key).
 */
export class BridgeConfigAsset {
  /** Where the file waits at synth, outside the bundle (in the cloud assembly directory when there is one). */
  readonly stagedPath: string;

  constructor(
    scope: Construct,
    private readonly config: Record<string, unknown>,
  ) {
    const text = JSON.stringify(config);
    if (Token.isUnresolved(text)) {
      throw new ConfigError(
        'config key "bridge.config" holds a value known only at deploy time (a CDK token): the bridge settings ship as a file written at synth, so give literal values',
      );
    }
    const root = scope.node.root;
    const dir = Stage.isStage(root) ? join(root.outdir, 'inferwatch-bridge-config') : mkdtempSync(join(tmpdir(), 'inferwatch-bridge-config-'));
    mkdirSync(dir, { recursive: true });
    this.stagedPath = join(dir, `${createHash('sha256').update(text).digest('hex').slice(0, 16)}.json`);
    writeFileSync(this.stagedPath, `${text}\n`);
  }

  /** The environment variable that tells the handler where the file is, relative to its bundle. */
  environment(): Record<string, string> {
    return { [CONFIG_ASSET_ENV]: CONFIG_ASSET_FILE };
  }

  /**
   * The shell command that copies the file into the bundle (NodejsFunction's `afterBundling` hook). Under the
   * project root the path goes through `inputDir`, so Docker bundling (the project mounted at /asset-input) finds
   * it too; elsewhere only local bundling (esbuild installed, as in this repository) can read it.
   */
  copyCommand(projectRoot: string, inputDir: string, outputDir: string): string {
    const fromRoot = relative(projectRoot, this.stagedPath);
    const source = fromRoot.startsWith('..') || isAbsolute(fromRoot) ? this.stagedPath : posix.join(inputDir, ...fromRoot.split(sep));
    return `cp "${source}" "${outputDir}/${CONFIG_ASSET_FILE}"`;
  }

  /**
   * For a prebuilt bundle (the installed package): a copy of the bundle directory with the file beside it, as the
   * function's code. The copy is named by the config's hash, so each config gets its own asset.
   */
  prebuiltCode(code: CodeProps): CodeProps {
    if (!(code.code instanceof lambda.AssetCode)) throw new Error('BridgeConfigAsset: the prebuilt bridge code must be a directory asset');
    const bundleDir = code.code.path;
    const dir = this.stagedPath.replace(/\.json$/, '-code');
    cpSync(bundleDir, dir, { recursive: true });
    writeFileSync(join(dir, CONFIG_ASSET_FILE), `${JSON.stringify(this.config)}\n`);
    return { ...code, code: lambda.Code.fromAsset(dir) };
  }
}

import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { CONFIG_ASSET_ENV, CONFIG_ASSET_FILE } from '../../contract/deployed-config';
import { ConfigError } from '../../contract/errors';
import { resolveConfig, type BridgeConfig } from '../../contract/bridge-config';
import { loadConfig } from './config';

/**
 * The configuration a deployed Lambda runs with. Lambda allows 4 KB for all environment variables together, so the
 * user's settings (which grow with a custom catalog) ship as a file in the code asset, named by
 * INFERWATCH_CONFIG_ASSET; INFERWATCH_CONFIG then holds only what is known at deploy time (the workspace id, the
 * state bucket: CloudFormation references a file written at synth cannot hold) and is layered over the file.
 * Without INFERWATCH_CONFIG_ASSET this is `loadConfig`: the CLI, the tests and older deployments keep working.
 *
 * `baseDir` is where a relative asset path points: the directory of the running bundle (`__dirname`), which is the
 * function's code directory in Lambda and the asset directory under `cdk.out` when a test loads the bundle.
 */
export function loadDeployedConfig(env: NodeJS.ProcessEnv = process.env, baseDir: string = __dirname): BridgeConfig {
  const asset = env[CONFIG_ASSET_ENV];
  if (!asset) return loadConfig(env);
  const path = isAbsolute(asset) ? asset : join(baseDir, asset);
  const shipped = readJsonObject(path, `the config file shipped with the function (${CONFIG_ASSET_ENV}=${asset})`, () => readFileSync(path, 'utf8'));
  const deployTime = env.INFERWATCH_CONFIG ? readJsonObject('INFERWATCH_CONFIG', 'environment variable INFERWATCH_CONFIG', () => env.INFERWATCH_CONFIG as string) : {};
  const both = Object.keys(deployTime).filter((key) => key in shipped);
  if (both.length > 0) {
    // The construct refuses these keys in the user's config, so only a hand-edited deployment gets here; no silent winner.
    throw new ConfigError(
      `config key(s) ${both.map((k) => `"${k}"`).join(', ')} are set both in ${path} and in environment variable INFERWATCH_CONFIG; the construct sets them in the environment only: remove them from the file`,
    );
  }
  return resolveConfig({ ...shipped, ...deployTime }, env);
}

function readJsonObject(where: string, what: string, read: () => string): Record<string, unknown> {
  let text: string;
  try {
    text = read();
  } catch (error) {
    throw new ConfigError(`cannot read ${what}: ${(error as Error).message}; redeploy the stack so the function's code carries its ${CONFIG_ASSET_FILE}`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${what} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${what} (${where}) must be a JSON object of config keys`);
  return raw as Record<string, unknown>;
}

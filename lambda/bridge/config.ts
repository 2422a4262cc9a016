import { readConfigFile } from '../../contract/config-file';
import { resolveConfig, type BridgeConfig } from '../../contract/bridge-config';
import { ConfigError } from '../../contract/errors';

// What reads the environment and files at run time; the schema and its checks are in contract/bridge-config.ts.

/**
 * The configuration an entry point runs with: the file named by `file` or INFERWATCH_CONFIG_FILE, else the
 * JSON in INFERWATCH_CONFIG (how the Lambda gets it), else the defaults; environment variables fill the rest.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, file?: string): BridgeConfig {
  const path = file ?? env.INFERWATCH_CONFIG_FILE;
  if (path) return loadConfigFile(path, env);
  if (!env.INFERWATCH_CONFIG) return resolveConfig({}, env);
  let raw: unknown;
  try {
    raw = JSON.parse(env.INFERWATCH_CONFIG);
  } catch (error) {
    throw new ConfigError(`environment variable INFERWATCH_CONFIG is not valid JSON: ${(error as Error).message}`);
  }
  return resolveConfig(raw, env);
}

/** Reads a YAML or JSON config file and validates it. */
export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): BridgeConfig {
  return resolveConfig(readConfigFile(path) ?? {}, env);
}

/**
 * The configuration of one shard: its index, and a state object (or directory) of its own, so shards never
 * share a high-water mark.
 */
export function forShard(config: BridgeConfig, index: number, count: number): BridgeConfig {
  if (!Number.isInteger(index) || !Number.isInteger(count) || count < 1 || index < 0 || index >= count) {
    throw new ConfigError(`shard ${index} of ${count} is not a valid shard (index must be a whole number below count)`);
  }
  if (count === 1) return { ...config, shard: { index: 0, count: 1 } };
  const suffix = `shard-${index}-of-${count}`;
  const state =
    config.state.type === 's3'
      ? { ...config.state, key: config.state.key.replace(/(\.json)?$/, `-${suffix}.json`) }
      : { ...config.state, directory: `${config.state.directory}/${suffix}` };
  return { ...config, shard: { index, count }, state };
}

import { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { parseInferwatchConfig } from '../lib/config/inferwatch-config';
import { resolveConfig } from '../contract/bridge-config';
import { readConfigFile } from '../contract/config-file';
import { loadConfig } from '../lambda/bridge/config';
import { redactText } from '../lambda/bridge/redact';

/** Keys only the CDK rollout config has: a file with any of them is one. */
const ROLLOUT_KEYS = ['monitoring', 'workloads', 'stackPrefix', 'logRetentionDays'];

/** Keys whose values are secrets outright; every other string has the user-info and query values of its URLs masked. */
const SECRET_KEYS = new Set(['password', 'token']);

/** The config as printed: secrets masked wherever they sit, as the bridge's logs mask them. */
export function masked(value: unknown, key = ''): unknown {
  if (typeof value === 'string') return SECRET_KEYS.has(key) ? '***' : redactText(value);
  if (Array.isArray(value)) return value.map((item) => masked(item));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v, k)]));
  return value;
}

/** Validates a bridge config (or the CDK rollout config) and prints it resolved: defaults, environment, region. */
export function checkConfigText(file: string | undefined, env: NodeJS.ProcessEnv): string {
  if (file === undefined) return `bridge config (${env.INFERWATCH_CONFIG_FILE ?? (env.INFERWATCH_CONFIG ? '$INFERWATCH_CONFIG' : 'built-in defaults')}) is valid; resolved:\n${toYaml(masked(loadConfig(env)))}`;
  const raw = readConfigFile(file);
  if (raw !== null && typeof raw === 'object' && ROLLOUT_KEYS.some((key) => key in raw)) {
    return `rollout config ${file} is valid; resolved:\n${toYaml(masked(parseInferwatchConfig(raw)))}`;
  }
  return `bridge config ${file} is valid; resolved:\n${toYaml(masked(resolveConfig(raw ?? {}, env)))}`;
}

/** `inferwatch config check [file]`. */
export function configCommand(): Command {
  const config = new Command('config').description('work with configuration files');
  config
    .command('check')
    .argument('[file]', 'a bridge config, or the CDK rollout config (inferwatch.config.yaml); default: the bridge config from the environment')
    .description('validate a config and print the resolved settings (secrets masked); exit 2 when invalid')
    .action((file: string | undefined) => {
      process.stdout.write(checkConfigText(file, process.env));
    });
  return config;
}

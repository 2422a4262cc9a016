import { AmpClient } from '@aws-sdk/client-amp';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { Command } from 'commander';
import { GrafanaApi } from '../../lambda/grafana-provisioner/grafana-api';
import { WorkspaceId, type BridgeConfig } from '../../contract/bridge-config';
import { ConfigError } from '../../contract/errors';
import { loadConfig } from '../../lambda/bridge/config';
import { sigv4Auth } from '../../lambda/bridge/remote-write/client';
import { sigv4Credentials, workspaceRegion } from '../../lambda/bridge/runtime';
import { formatChecks, runDoctor } from './doctor';
import { rawQuery } from '../../lambda/bridge/remote-write/query';
import { redactText } from '../../lambda/bridge/redact';
import { RateLimiter } from '../../lambda/bridge/concurrency';
import { PromQlClient } from '../../lambda/bridge/sources/promql/client';
import { promQlEndpoint } from '../../lambda/bridge/sources/promql/promql-source';

interface DoctorFlags {
  workspace?: string;
  config?: string;
  ruleNamespace: string;
  maxLag: string;
  grafanaUrl?: string;
  grafanaTokenEnv: string;
}

function parseSeconds(value: string, flag: string): number {
  const match = /^(\d+)([smh]?)$/.exec(value.trim());
  if (!match) throw new ConfigError(`${flag} ${value}: expected seconds or a duration like "30m"`);
  return Number(match[1]) * ({ '': 1, s: 1, m: 60, h: 3600 }[match[2] as string] as number);
}

/** The workspace from the flag, else from the bridge config; doctor checks what the bridge writes to. */
function doctorConfig(flags: DoctorFlags, env: NodeJS.ProcessEnv): { config: BridgeConfig; workspaceId: string } {
  const config = loadConfig(env, flags.config);
  const workspaceId = flags.workspace ?? config.remoteWrite.workspaceId;
  if (workspaceId === undefined) throw new ConfigError('doctor needs a workspace: pass --workspace ws-…, or set "remoteWrite.workspaceId" in the config');
  const parsed = WorkspaceId.safeParse(workspaceId);
  if (!parsed.success) throw new ConfigError(`--workspace ${workspaceId}: ${parsed.error.issues[0]?.message ?? 'not an AMP workspace id'}`);
  return { config, workspaceId };
}

/** `inferwatch doctor`: one line per check, exit code 1 when any fails. */
export function doctorCommand(): Command {
  return new Command('doctor')
    .description('check a deployed setup end to end: workspace, logging, rules, alert manager, the bridge\'s last cycle, CloudWatch/SageMaker reads, the PromQL API, Grafana')
    .option('--workspace <id>', 'AMP workspace id, ws-… (default: remoteWrite.workspaceId of the config)')
    .option('-c, --config <file>', 'the bridge config file, for its workspace and regions (checks run with the current credentials)')
    .option('--rule-namespace <name>', 'the rule groups namespace to check', 'inferwatch')
    .option('--max-lag <duration>', 'a bridge whose last cycle or data is older fails', '30m')
    .option('--grafana-url <url>', 'also check the Grafana data source (needs a token in --grafana-token-env)')
    .option('--grafana-token-env <name>', 'environment variable holding a Grafana service-account token', 'GRAFANA_TOKEN')
    .action(async (flags: DoctorFlags) => {
      const { config, workspaceId } = doctorConfig(flags, process.env);
      const region = workspaceRegion(config);
      let grafana: GrafanaApi | undefined;
      if (flags.grafanaUrl) {
        const token = process.env[flags.grafanaTokenEnv];
        if (!token) throw new ConfigError(`--grafana-url needs a Grafana service-account token in the environment variable ${flags.grafanaTokenEnv}`);
        grafana = new GrafanaApi(flags.grafanaUrl, token);
      }
      const cloudwatch = new CloudWatchClient({ region: config.region });
      const endpoint = promQlEndpoint(config.region, config.promql.endpoint);
      // Signed as the bridge signs it, one request at a time: doctor makes one call.
      const promql = config.promql.enabled
        ? { endpoint, client: new PromQlClient({ endpoint, region: config.region, credentials: cloudwatch.config.credentials, limiter: new RateLimiter(config.promql.tps), maxInFlight: 1 }) }
        : undefined;
      const checks = await runDoctor(
        { workspaceId, workspaceRegion: region, region: config.region, ruleGroupsNamespace: flags.ruleNamespace, maxLagSeconds: parseSeconds(flags.maxLag, '--max-lag') },
        {
          // The current credentials throughout, not the bridge's writer role: doctor reads more than the bridge may.
          amp: new AmpClient({ region }),
          cloudwatch,
          sagemaker: new SageMakerClient({ region: config.region }),
          query: (queryUrl) => rawQuery(queryUrl, sigv4Auth(region, sigv4Credentials(undefined, region))),
          grafana,
          promql,
          now: Date.now,
        },
      );
      // A check's message may quote a URL (a fetch failure quotes it whole): masked as everywhere else.
      process.stdout.write(`${redactText(formatChecks(checks))}\n`);
      if (checks.some((c) => !c.ok)) process.exitCode = 1;
    });
}

import { AmpClient } from '@aws-sdk/client-amp';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { WorkspaceCache, type ResolvedWorkspace } from './amp/workspace';
import { instrumentAwsClient } from './aws-calls';
import { Catalog } from './catalog/catalog';
import { DiscoveryCache } from './cloudwatch/discovery';
import { GetMetricDataFastProtocol } from './cloudwatch/get-metric-data-protocol';
import type { BridgeConfig } from '../../contract/bridge-config';
import { ConfigError } from '../../contract/errors';
import type { CycleDeps } from './cycle';
import type { BridgeLogger } from './logger';
import { rawQuery, type RawQuery } from './remote-write/query';
import { ampRegion, basicAuth, bearerAuth, noAuth, RemoteWriteClient, sigv4Auth, type Authorizer } from './remote-write/client';
import { FileStateStore } from './state/file-state-store';
import { S3StateStore } from './state/s3-state-store';
import type { StateStore } from './state/store';

/** SDK retries cover CloudWatch throttling (and 5xx) with the SDK's backoff. */
const SDK_MAX_ATTEMPTS = 8;

type SigV4Auth = Extract<NonNullable<BridgeConfig['remoteWrite']['auth']>, { type: 'sigv4' }>;

/** The credentials that sign for AMP: the writer role when one is configured (cross-account), else the bridge's own. */
export function sigv4Credentials(auth: Pick<SigV4Auth, 'roleArn' | 'externalId'> | undefined, region: string): AwsCredentialIdentityProvider {
  return auth?.roleArn
    ? fromTemporaryCredentials({
        params: { RoleArn: auth.roleArn, RoleSessionName: 'inferwatch-bridge', ...(auth.externalId ? { ExternalId: auth.externalId } : {}) },
        clientConfig: { region },
      })
    : defaultProvider();
}

export function resolveAuthorizer(config: BridgeConfig, env: NodeJS.ProcessEnv): Authorizer {
  const url = config.remoteWrite.url as string;
  const auth = config.remoteWrite.auth ?? (ampRegion(url) ? { type: 'sigv4' as const, service: 'aps' } : { type: 'none' as const });
  switch (auth.type) {
    case 'none':
      return noAuth();
    case 'sigv4': {
      const region = auth.region ?? ampRegion(url) ?? config.region;
      return sigv4Auth(region, sigv4Credentials(auth, region), auth.service);
    }
    case 'basic': {
      const password = auth.password ?? env[auth.passwordEnv as string];
      if (password === undefined) throw new ConfigError(`config key "remoteWrite.auth.passwordEnv": environment variable ${auth.passwordEnv} is not set`);
      return basicAuth(auth.username, password);
    }
    case 'bearer': {
      const token = auth.token ?? env[auth.tokenEnv as string];
      if (token === undefined) throw new ConfigError(`config key "remoteWrite.auth.tokenEnv": environment variable ${auth.tokenEnv} is not set`);
      return bearerAuth(token);
    }
  }
}

/**
 * The cycle's CloudWatch client: the SDK's, with GetMetricData's JSON written and read by the fast codec (its schema
 * walk was a sixth of a 10,000-variant full read's CPU); signing, retries and every other operation unchanged.
 */
export function createCloudWatchClient(region: string): CloudWatchClient {
  return new CloudWatchClient({ region, maxAttempts: SDK_MAX_ATTEMPTS, protocol: GetMetricDataFastProtocol });
}

export function createStateStore(config: BridgeConfig, logger?: BridgeLogger): StateStore {
  const s3 = () => new S3Client({ region: config.region, maxAttempts: SDK_MAX_ATTEMPTS });
  return config.state.type === 's3'
    ? new S3StateStore(logger ? instrumentAwsClient(s3(), logger) : s3(), config.state.bucket, config.state.key)
    : new FileStateStore(config.state.directory);
}

/** Caches that outlive one cycle: module scope in Lambda (warm starts), process scope in the CLI. */
export interface WarmCaches {
  readonly discovery: DiscoveryCache;
  /** ACTIVE workspaces by id: one DescribeWorkspace per warm Lambda (or CLI process), not one per cycle. */
  readonly workspaces: WorkspaceCache;
}

export function createWarmCaches(): WarmCaches {
  return { discovery: new DiscoveryCache(), workspaces: new WorkspaceCache() };
}

/** The region a workspace id is looked up in: where the remote write signs, else the bridge's region. */
export function workspaceRegion(config: BridgeConfig): string {
  const auth = config.remoteWrite.auth;
  return (auth?.type === 'sigv4' ? auth.region : undefined) ?? config.region;
}

/** An AMP control-plane client with the credentials that sign the remote write (AWS_ENDPOINT_URL_AMP applies). */
export function createAmpClient(config: BridgeConfig, region = workspaceRegion(config), logger?: BridgeLogger): AmpClient {
  const auth = config.remoteWrite.auth;
  const client = new AmpClient({ region, maxAttempts: SDK_MAX_ATTEMPTS, credentials: sigv4Credentials(auth?.type === 'sigv4' ? auth : undefined, region) });
  return logger ? instrumentAwsClient(client, logger) : client;
}

/**
 * Turns `remoteWrite.workspaceId` into the workspace's remote-write URL and SigV4 for its region, through
 * DescribeWorkspace (cached). Runs before the cycle is built, so a workspace that is missing, unreadable or not
 * ACTIVE stops the run before any billed CloudWatch call. A config with a URL passes through unchanged.
 */
export async function resolveRemoteWrite(config: BridgeConfig, caches: WarmCaches, amp?: AmpClient, logger?: BridgeLogger): Promise<{ config: BridgeConfig; workspace?: ResolvedWorkspace }> {
  const workspaceId = config.remoteWrite.workspaceId;
  if (workspaceId === undefined) return { config };
  const region = workspaceRegion(config);
  const workspace = await caches.workspaces.resolve(amp ?? createAmpClient(config, region, logger), workspaceId, region);
  const auth = config.remoteWrite.auth?.type === 'sigv4' ? config.remoteWrite.auth : { type: 'sigv4' as const, service: 'aps' };
  return { config: { ...config, remoteWrite: { ...config.remoteWrite, url: workspace.remoteWriteUrl, auth: { ...auth, region } } }, workspace };
}

export interface RuntimeOptions {
  readonly logger: BridgeLogger;
  readonly env: NodeJS.ProcessEnv;
  readonly caches: WarmCaches;
  /** Epoch ms after which no remote-write retry starts, and by which the cycle must have ended. */
  readonly deadline: () => number;
  /** Where a dry run writes its text exposition. */
  readonly output?: (text: string) => void;
  readonly accountId?: string;
  readonly now?: () => number;
}

/** Each receiver query at debug level, with its timing, as AWS calls and remote-write requests are. */
function loggedQuery(query: RawQuery, queryUrl: string, logger: BridgeLogger): RawQuery {
  return async (selector, atMs) => {
    const started = Date.now();
    try {
      const series = await query(selector, atMs);
      logger.debug('receiver query', { url: queryUrl, query: selector, series: series.length, ms: Date.now() - started });
      return series;
    } catch (error) {
      logger.debug('receiver query failed', { url: queryUrl, query: selector, error: (error as Error).message, ms: Date.now() - started });
      throw error;
    }
  };
}

/** The query endpoint beside a remote-write endpoint: AMP's and Prometheus' share their `/api/v1/` prefix. */
export function queryUrlFor(remoteWriteUrl: string | undefined): string | undefined {
  if (!remoteWriteUrl) return undefined;
  const url = new URL(remoteWriteUrl);
  if (!/\/api\/v1\/(remote_)?write$/.test(url.pathname)) return undefined;
  url.pathname = url.pathname.replace(/(remote_)?write$/, 'query');
  return url.toString();
}

/**
 * Builds the cycle's dependencies from validated config. The SDK clients take endpoints from the standard
 * AWS configuration (AWS_ENDPOINT_URL_CLOUDWATCH, AWS_ENDPOINT_URL_SAGEMAKER, ...): nothing custom.
 */
export function createCycleDeps(config: BridgeConfig, options: RuntimeOptions, withRemoteWrite: boolean): { deps: CycleDeps; catalog: Catalog } {
  if (withRemoteWrite && !config.remoteWrite.url) {
    throw new ConfigError(
      config.remoteWrite.workspaceId === undefined
        ? 'config key "remoteWrite.url" or "remoteWrite.workspaceId" is required (or set INFERWATCH_REMOTE_WRITE_URL, or pass --workspace); use --dry-run to preview without writing'
        : 'config key "remoteWrite.workspaceId" must be resolved with resolveRemoteWrite before the cycle is built',
    );
  }
  const accountId = config.accountId ?? options.accountId;
  const baseLabels: Record<string, string> = { region: config.region, ...(accountId ? { account_id: accountId } : {}) };
  const authorize = withRemoteWrite ? resolveAuthorizer(config, options.env) : undefined;
  const queryUrl = config.remoteWrite.queryUrl ?? queryUrlFor(config.remoteWrite.url);
  const client = authorize
    ? new RemoteWriteClient({
        url: config.remoteWrite.url as string,
        authorize,
        timeoutMs: config.remoteWrite.timeout * 1000,
        maxAttempts: config.remoteWrite.maxAttempts,
        deadline: options.deadline,
        onRetry: (info) => options.logger.warn('remote write failed; retrying', info),
        onAttempt: (info) => options.logger.debug('remote write request', info),
      })
    : undefined;
  const deps: CycleDeps = {
    cloudwatch: instrumentAwsClient(createCloudWatchClient(config.region), options.logger),
    sagemaker: config.sagemakerMetadata ? instrumentAwsClient(new SageMakerClient({ region: config.region, maxAttempts: SDK_MAX_ATTEMPTS }), options.logger) : undefined,
    tagging:
      config.sagemakerMetadata && config.endpointTags.length > 0
        ? instrumentAwsClient(new ResourceGroupsTaggingAPIClient({ region: config.region, maxAttempts: SDK_MAX_ATTEMPTS }), options.logger)
        : undefined,
    store: createStateStore(config, options.logger),
    send: client ? (body) => client.send(body) : async () => ({ status: 'ok', attempts: 0 }),
    now: options.now ?? Date.now,
    deadline: options.deadline,
    logger: options.logger,
    discoveryCache: options.caches.discovery,
    baseLabels,
    output: options.output,
    receiverQuery: authorize && queryUrl ? loggedQuery(rawQuery(queryUrl, authorize), queryUrl, options.logger) : undefined,
  };
  return { deps, catalog: Catalog.withDefaults(config.catalog, config.namingProfile, config.neuronNamespace, config.latency) };
}

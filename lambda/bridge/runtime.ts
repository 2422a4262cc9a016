import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { Catalog } from './catalog/catalog';
import { DiscoveryCache } from './cloudwatch/discovery';
import { ConfigError, type BridgeConfig } from './config';
import type { CycleDeps } from './cycle';
import type { BridgeLogger } from './logger';
import { ampRegion, basicAuth, bearerAuth, noAuth, RemoteWriteClient, sigv4Auth, type Authorizer } from './remote-write/client';
import { FileStateStore } from './state/file-state-store';
import { S3StateStore } from './state/s3-state-store';
import type { StateStore } from './state/state';

/** SDK retries cover CloudWatch throttling (and 5xx) with the SDK's backoff. */
const SDK_MAX_ATTEMPTS = 8;

export function resolveAuthorizer(config: BridgeConfig, env: NodeJS.ProcessEnv): Authorizer {
  const url = config.remoteWrite.url as string;
  const auth = config.remoteWrite.auth ?? (ampRegion(url) ? { type: 'sigv4' as const, service: 'aps' } : { type: 'none' as const });
  switch (auth.type) {
    case 'none':
      return noAuth();
    case 'sigv4': {
      const region = auth.region ?? ampRegion(url) ?? config.region;
      const credentials = auth.roleArn
        ? fromTemporaryCredentials({
            params: { RoleArn: auth.roleArn, RoleSessionName: 'inferwatch-bridge', ...(auth.externalId ? { ExternalId: auth.externalId } : {}) },
            clientConfig: { region },
          })
        : defaultProvider();
      return sigv4Auth(region, credentials, auth.service);
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

export function createStateStore(config: BridgeConfig): StateStore {
  return config.state.type === 's3'
    ? new S3StateStore(new S3Client({ region: config.region, maxAttempts: SDK_MAX_ATTEMPTS }), config.state.bucket, config.state.key)
    : new FileStateStore(config.state.directory);
}

/** Caches that outlive one cycle: module scope in Lambda (warm starts), process scope in the CLI. */
export interface WarmCaches {
  readonly discovery: DiscoveryCache;
}

export function createWarmCaches(): WarmCaches {
  return { discovery: new DiscoveryCache() };
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

/**
 * Builds the cycle's dependencies from validated config. The SDK clients take endpoints from the standard
 * AWS configuration (AWS_ENDPOINT_URL_CLOUDWATCH, AWS_ENDPOINT_URL_SAGEMAKER, ...): nothing custom.
 */
export function createCycleDeps(config: BridgeConfig, options: RuntimeOptions, withRemoteWrite: boolean): { deps: CycleDeps; catalog: Catalog } {
  if (withRemoteWrite && !config.remoteWrite.url) {
    throw new ConfigError('config key "remoteWrite.url" is required (or set INFERWATCH_REMOTE_WRITE_URL); use --dry-run to preview without writing');
  }
  const accountId = config.accountId ?? options.accountId;
  const baseLabels: Record<string, string> = { region: config.region, ...(accountId ? { account_id: accountId } : {}) };
  const client = withRemoteWrite
    ? new RemoteWriteClient({
        url: config.remoteWrite.url as string,
        authorize: resolveAuthorizer(config, options.env),
        timeoutMs: config.remoteWrite.timeout * 1000,
        maxAttempts: config.remoteWrite.maxAttempts,
        deadline: options.deadline,
        onRetry: (info) => options.logger.warn('remote write failed; retrying', info),
      })
    : undefined;
  const deps: CycleDeps = {
    cloudwatch: new CloudWatchClient({ region: config.region, maxAttempts: SDK_MAX_ATTEMPTS }),
    sagemaker: config.sagemakerMetadata ? new SageMakerClient({ region: config.region, maxAttempts: SDK_MAX_ATTEMPTS }) : undefined,
    store: createStateStore(config),
    send: client ? (body) => client.send(body) : async () => ({ status: 'ok', attempts: 0 }),
    now: options.now ?? Date.now,
    deadline: options.deadline,
    logger: options.logger,
    discoveryCache: options.caches.discovery,
    baseLabels,
    output: options.output,
  };
  return { deps, catalog: Catalog.withDefaults(config.catalog, config.namingProfile, config.neuronNamespace) };
}

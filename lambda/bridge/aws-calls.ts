import { ConfigError, RecoverableError } from '../../contract/errors';
import type { BridgeLogger } from './logger';

/** An AWS call that did not get through, after the SDK's retries: the endpoint unreachable, a 5xx, or throttling. `cause` is the SDK's error. */
export class AwsCallError extends RecoverableError {}

/**
 * An AWS call refused (a 4xx other than throttling): a missing permission, or a name or id that does not exist.
 * `cause` is the SDK's error, with its name and `$metadata`.
 */
export class AwsRequestError extends ConfigError {}

/** The SDK's own error behind a failed call of an instrumented client (or `error` itself), for checks on its name or class. */
export function sdkError(error: unknown): unknown {
  return error instanceof AwsCallError || error instanceof AwsRequestError ? error.cause : error;
}

const THROTTLING = /Throttl|TooManyRequests|RequestLimitExceeded|SlowDown|LimitExceeded/;

function transient(name: string, status: number | undefined): boolean {
  return status === undefined || status >= 500 || status === 429 || THROTTLING.test(name);
}

/** The names people know the services by, for messages. */
const SERVICE_NAMES: Record<string, string> = {
  CloudWatchClient: 'CloudWatch',
  SageMakerClient: 'SageMaker',
  ResourceGroupsTaggingAPIClient: 'Resource Groups Tagging',
  S3Client: 'S3',
  AmpClient: 'AMP',
  STSClient: 'STS',
};

/** Errors thrown below HTTP: nothing answered. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE']);

interface Instrumentable {
  readonly middlewareStack: {
    add(middleware: unknown, options: { step: 'initialize'; name: string; override?: boolean }): void;
    remove(name: string): boolean;
  };
}

type Next = (args: unknown) => Promise<{ output?: { $metadata?: { httpStatusCode?: number; attempts?: number } } }>;

function networkCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; cause?: { code?: unknown }; $metadata?: { httpStatusCode?: number } };
  if (e.$metadata?.httpStatusCode !== undefined) return undefined;
  const code = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : undefined;
  return code !== undefined && NETWORK_CODES.has(code) ? code : undefined;
}

/** The SDK's error, wrapped in one that names the service and the call; already wrapped errors pass as they are. */
function wrapFailure(error: unknown, service: string, operation: string): unknown {
  const e = error as Error & { $metadata?: { httpStatusCode?: number; attempts?: number } };
  if (error instanceof AwsCallError || error instanceof AwsRequestError || !(e instanceof Error) || e.message.startsWith(`${service} `)) return error;
  const code = networkCode(error);
  if (code !== undefined) {
    const envName = `AWS_ENDPOINT_URL_${service.toUpperCase()}`;
    return new AwsCallError(`${service} ${operation}: cannot reach the ${service} endpoint (${code}: ${e.message}); check the network, or ${envName} / AWS_ENDPOINT_URL if you set one`, { cause: error });
  }
  const status = e.$metadata?.httpStatusCode;
  // The service's own text alone ("boom") does not say which call failed.
  const message = `${service} ${operation} failed${status ? ` with HTTP ${status}` : ''}${e.$metadata?.attempts ? ` after ${e.$metadata.attempts} attempt(s)` : ''}: ${e.name}: ${e.message}`;
  return transient(e.name, status) ? new AwsCallError(message, { cause: error }) : new AwsRequestError(message, { cause: error });
}

/**
 * Logs each AWS call (service, operation, status, attempts, milliseconds) at debug, and wraps a failure in an error
 * that says which service and call it was (and, when the service could not be reached, where its endpoint comes
 * from), instead of only `ECONNREFUSED host:port`: AwsCallError when a later call may succeed, AwsRequestError when
 * the request itself was refused. The SDK's error is the `cause` (see sdkError).
 * Works at the SDK's initialize step, so one line covers the call with all its retries.
 */
export function instrumentAwsClient<T extends Instrumentable>(client: T, logger: BridgeLogger): T {
  // The SDK's own logger middleware copies every response through its sensitive-data filter to hand it to the
  // default no-op logger: at 10,000 variants a second of CPU a cycle and a copy of every GetMetricData answer for the
  // collector. The bridge logs calls itself (below) and gives the SDK no logger.
  client.middlewareStack.remove('loggerMiddleware');
  client.middlewareStack.add(
    (next: Next, context: { clientName?: string; commandName?: string }) => async (args: unknown) => {
      const service = SERVICE_NAMES[context.clientName ?? ''] ?? context.clientName ?? 'AWS';
      const operation = context.commandName?.replace(/Command$/, '') ?? 'call';
      const started = Date.now();
      try {
        const result = await next(args);
        logger.debug('aws call', { service, operation, status: result.output?.$metadata?.httpStatusCode, attempts: result.output?.$metadata?.attempts, ms: Date.now() - started });
        return result;
      } catch (error) {
        const e = error as Error & { $metadata?: { httpStatusCode?: number; attempts?: number } };
        logger.debug('aws call failed', { service, operation, status: e.$metadata?.httpStatusCode, attempts: e.$metadata?.attempts, error: e.name, ms: Date.now() - started });
        throw wrapFailure(error, service, operation);
      }
    },
    { step: 'initialize', name: 'inferwatchCallLog', override: true },
  );
  return client;
}

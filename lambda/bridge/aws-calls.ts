import type { BridgeLogger } from './logger';

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
  };
}

type Next = (args: unknown) => Promise<{ output?: { $metadata?: { httpStatusCode?: number; attempts?: number } } }>;

function networkCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; cause?: { code?: unknown }; $metadata?: { httpStatusCode?: number } };
  if (e.$metadata?.httpStatusCode !== undefined) return undefined;
  const code = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : undefined;
  return code !== undefined && NETWORK_CODES.has(code) ? code : undefined;
}

/**
 * Logs each AWS call (service, operation, status, attempts, milliseconds) at debug, and makes a failure to reach
 * the service say which service it was and where its endpoint comes from, instead of only `ECONNREFUSED host:port`.
 * Works at the SDK's initialize step, so one line covers the call with all its retries.
 */
export function instrumentAwsClient<T extends Instrumentable>(client: T, logger: BridgeLogger): T {
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
        const code = networkCode(error);
        if (e instanceof Error && !e.message.startsWith(`${service} `)) {
          const envName = `AWS_ENDPOINT_URL_${service.toUpperCase()}`;
          e.message =
            code !== undefined
              ? `${service} ${operation}: cannot reach the ${service} endpoint (${code}: ${e.message}); check the network, or ${envName} / AWS_ENDPOINT_URL if you set one`
              : // The service's own text alone ("boom") does not say which call failed.
                `${service} ${operation} failed${e.$metadata?.httpStatusCode ? ` with HTTP ${e.$metadata.httpStatusCode}` : ''}${e.$metadata?.attempts ? ` after ${e.$metadata.attempts} attempt(s)` : ''}: ${e.name}: ${e.message}`;
        }
        throw error;
      }
    },
    { step: 'initialize', name: 'inferwatchCallLog', override: true },
  );
  return client;
}

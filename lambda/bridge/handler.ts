import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { resolveConfig } from './config';
import { runCycle } from './cycle';
import type { BridgeLogger } from './logger';
import { createCycleDeps, createWarmCaches } from './runtime';

const powertools = new Logger({ serviceName: 'inferwatch-bridge' });
const logger: BridgeLogger = {
  debug: (message, extra) => powertools.debug(message, extra ?? {}),
  info: (message, extra) => powertools.info(message, extra ?? {}),
  warn: (message, extra) => powertools.warn(message, extra ?? {}),
  error: (message, extra) => powertools.error(message, extra ?? {}),
};
// Parsed once per container: a bad config fails the first invocation loudly, before any API call.
const config = resolveConfig(process.env.INFERWATCH_CONFIG ? JSON.parse(process.env.INFERWATCH_CONFIG) : {});
const caches = createWarmCaches();

/** Stop starting remote-write retries this long before Lambda's timeout, so the cycle can still journal and report. */
const SAFETY_MARGIN_MS = 5_000;

/** Scheduled by EventBridge Scheduler: one bridge cycle per invocation. */
export async function handler(_event: unknown, context: Context): Promise<{ samples: number; highWaterMark?: string }> {
  const accountId = context.invokedFunctionArn.split(':')[4];
  const deadline = Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS;
  const { deps, catalog } = createCycleDeps(
    config,
    {
      logger,
      env: process.env,
      caches,
      accountId,
      deadline: () => deadline,
    },
    true,
  );
  const report = await runCycle(config, catalog, deps);
  return { samples: report.samples, highWaterMark: report.window ? new Date(report.window.end).toISOString() : undefined };
}

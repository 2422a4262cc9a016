import { redactText } from './redact';

/** The logging the core needs: Powertools' Logger in Lambda, a console logger in the CLI. */
export interface BridgeLogger {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Human-readable logs on stderr, so stdout stays free for the dry-run exposition. URLs are redacted. */
export function consoleLogger(level: LogLevel = 'info', write: (line: string) => void = (line) => process.stderr.write(line)): BridgeLogger {
  const order: readonly string[] = LOG_LEVELS;
  const min = order.indexOf(level);
  const log = (lvl: string) => (message: string, extra?: Record<string, unknown>) => {
    if (order.indexOf(lvl) < min) return;
    const details = extra && Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
    write(redactText(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${message}${details}\n`));
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/**
 * Any logger, with every URL in its messages and fields redacted (user-info and query values): the Lambda's
 * Powertools logger writes JSON fields as they are, and an error's text may quote a URL whole.
 */
export function redactingLogger(inner: BridgeLogger): BridgeLogger {
  const clean = (extra: Record<string, unknown> | undefined) => (extra === undefined ? undefined : (JSON.parse(redactText(JSON.stringify(extra))) as Record<string, unknown>));
  return {
    debug: (message, extra) => inner.debug(redactText(message), clean(extra)),
    info: (message, extra) => inner.info(redactText(message), clean(extra)),
    warn: (message, extra) => inner.warn(redactText(message), clean(extra)),
    error: (message, extra) => inner.error(redactText(message), clean(extra)),
  };
}

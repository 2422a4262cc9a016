/** The logging the core needs: Powertools' Logger in Lambda, a console logger in the CLI. */
export interface BridgeLogger {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** Human-readable logs on stderr, so stdout stays free for the dry-run exposition. */
export function consoleLogger(level: 'debug' | 'info' | 'warn' | 'error' = 'info'): BridgeLogger {
  const order = ['debug', 'info', 'warn', 'error'];
  const min = order.indexOf(level);
  const log = (lvl: string) => (message: string, extra?: Record<string, unknown>) => {
    if (order.indexOf(lvl) < min) return;
    const details = extra && Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
    process.stderr.write(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${message}${details}\n`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

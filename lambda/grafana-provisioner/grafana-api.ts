import { ConfigError, RecoverableError } from '../../contract/errors';

function grafanaFailure(method: string, path: string, status: number | undefined, detail: string): string {
  return `Grafana ${method} ${path} failed${status === undefined ? '' : ` with HTTP ${status}`}: ${detail}`;
}

/**
 * Grafana refused a request (a 4xx other than 429): the token, its role, or what was sent must change. Method,
 * path, status and Grafana's message (never the token).
 */
export class GrafanaApiError extends ConfigError {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number | undefined,
    detail: string,
  ) {
    super(grafanaFailure(method, path, status, detail));
  }
}

/** Grafana did not answer, or answered 5xx or 429, on every attempt: the same request may succeed later. */
export class GrafanaUnavailableError extends RecoverableError {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number | undefined,
    detail: string,
  ) {
    super(grafanaFailure(method, path, status, detail));
  }
}

export interface GrafanaApiOptions {
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default 3 */
  readonly maxAttempts?: number;
}

/** The few Grafana HTTP API calls the provisioner makes, with a service-account token. Retries 5xx, 429 and network errors. */
export class GrafanaApi {
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly maxAttempts: number;

  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    options: GrafanaApiOptions = {},
  ) {
    this.fetchImpl = options.fetch ?? fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.maxAttempts = options.maxAttempts ?? 3;
  }

  /** Returns the parsed body, or undefined for a 404 when `allowNotFound`. */
  async request<T>(method: string, path: string, body?: unknown, allowNotFound = false): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      let status: number | undefined;
      let detail: string;
      try {
        const response = await this.fetchImpl(`${this.baseUrl.replace(/\/$/, '')}${path}`, {
          method,
          headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await response.text();
        if (response.ok) return (text ? JSON.parse(text) : undefined) as T;
        if (response.status === 404 && allowNotFound) return undefined;
        status = response.status;
        detail = grafanaMessage(text) ?? response.statusText;
        if (status < 500 && status !== 429) throw new GrafanaApiError(method, path, status, detail);
      } catch (error) {
        if (error instanceof GrafanaApiError) throw error;
        detail = `network error: ${(error as Error).message}`;
      }
      if (attempt >= this.maxAttempts) throw new GrafanaUnavailableError(method, path, status, `${detail} (after ${attempt} attempts)`);
      await this.sleep(500 * 2 ** (attempt - 1));
    }
  }
}

function grafanaMessage(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { message?: string };
    return parsed.message ?? text.slice(0, 300);
  } catch {
    return text.slice(0, 300) || undefined;
  }
}

import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { InferwatchError, RecoverableError } from '../../../../contract/errors';
import { RateLimiter } from '../../concurrency';

/** SageMaker's PromQL connection settings: endpoint `monitoring.<region>`, SigV4 service `monitoring`. */
export const PROMQL_SIGNING_SERVICE = 'monitoring';
const MAX_ATTEMPTS = 5;
const BASE_DELAY_MS = 200;

/** A PromQL request CloudWatch refused in a way a retry does not change (400, 403, 404): the message says which and why. */
export class PromQlRequestError extends InferwatchError {
  readonly remedy = 'report' as const;

  constructor(
    message: string,
    readonly status: number,
    readonly errorType: string,
  ) {
    super(message);
  }
}

export interface PromQlClientOptions {
  /** `https://monitoring.<region>.amazonaws.com` or a stand-in. */
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  readonly limiter: RateLimiter;
  /** Requests in flight at once, whatever the cycle's read concurrency: the API's per-account concurrency quota. */
  readonly maxInFlight: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called once per HTTP request, retries included: what CloudWatch counts against the TPS quota. */
  readonly onRequest?: (api: string) => void;
}

export interface PromQlSeriesLabels {
  readonly [label: string]: string;
}

/** A native histogram in Prometheus' HTTP API: buckets `[boundaryRule, lower, upper, count]`, numbers as strings. */
export interface NativeHistogram {
  readonly count: string;
  readonly sum: string;
  readonly buckets?: ReadonlyArray<readonly [number, string, string, string]>;
}

/** One series of a matrix: float samples in `values`, histogram samples in `histograms` (each absent when none). */
export interface RangeSeries {
  readonly metric: PromQlSeriesLabels;
  readonly values?: ReadonlyArray<readonly [number, string]>;
  readonly histograms?: ReadonlyArray<readonly [number, NativeHistogram]>;
}

interface PrometheusAnswer<T> {
  readonly status?: string;
  readonly data?: T;
  readonly errorType?: string;
  readonly error?: string;
  readonly message?: string;
}

/** CloudWatch's Prometheus-compatible API: GetSeries and QueryMetrics (query_range), SigV4-signed GETs. */
export class PromQlClient {
  private readonly signer: SignatureV4;
  private readonly sleep: (ms: number) => Promise<void>;
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly options: PromQlClientOptions) {
    this.signer = new SignatureV4({ service: PROMQL_SIGNING_SERVICE, region: options.region, credentials: options.credentials, sha256: Sha256 });
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** GetSeries: the label sets of the series `match` selects in `[start, end]` (epoch ms), at most `limit`. */
  series(match: string, start: number, end: number, limit: number): Promise<PromQlSeriesLabels[]> {
    return this.get<PromQlSeriesLabels[]>('/api/v1/series', [
      ['match[]', match],
      ['start', seconds(start)],
      ['end', seconds(end)],
      ['limit', String(limit)],
    ]);
  }

  /** GetLabels: the values `label` takes in `[start, end]` (epoch ms); `__name__` lists the metrics there are. */
  labelValues(label: string, start: number, end: number): Promise<string[]> {
    return this.get<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values`, [
      ['start', seconds(start)],
      ['end', seconds(end)],
    ]);
  }

  /** QueryMetrics over a range: steps `start`, `start + step`, ... up to `end` (epoch ms, both inclusive). */
  async queryRange(query: string, start: number, end: number, stepMs: number, limit: number): Promise<RangeSeries[]> {
    const data = await this.get<{ resultType: string; result: RangeSeries[] }>('/api/v1/query_range', [
      ['query', query],
      ['start', seconds(start)],
      ['end', seconds(end)],
      ['step', `${stepMs / 1000}s`],
      ['limit', String(limit)],
    ]);
    if (data.resultType !== 'matrix') throw new PromQlRequestError(`PromQL query_range answered a ${data.resultType}, not a matrix: ${query}`, 200, 'bad_response');
    return data.result;
  }

  private async get<T>(path: string, params: ReadonlyArray<readonly [string, string]>): Promise<T> {
    const api = path.startsWith('/api/v1/label/') ? 'label_values' : path.replace('/api/v1/', '');
    for (let attempt = 1; ; attempt++) {
      await this.options.limiter.take();
      this.options.onRequest?.(api);
      const response = await this.slot(() => this.send(path, params)).catch((error: unknown) => ({ networkError: error }) as const);
      if ('networkError' in response) {
        // No host by that name, or nothing listening: a retry a second later finds the same (a region without the API).
        const code = ((response.networkError as { cause?: { code?: string } }).cause ?? {}).code;
        if (attempt >= MAX_ATTEMPTS || code === 'ENOTFOUND' || code === 'ECONNREFUSED') throw new RecoverableError(`PromQL ${api} at ${this.options.endpoint} failed after ${attempt} attempts: ${String(response.networkError)}`, { cause: response.networkError });
      } else {
        const answer = (await response.json().catch(() => ({}))) as PrometheusAnswer<T>;
        if (response.ok && answer.status === 'success' && answer.data !== undefined) return answer.data;
        const errorType = answer.errorType ?? response.headers.get('x-amzn-errortype') ?? `HTTP ${response.status}`;
        const detail = `PromQL ${api} answered ${response.status} ${errorType}: ${answer.error ?? answer.message ?? 'no message'}`;
        const retryable = response.status === 429 || response.status >= 500;
        const query = params.find(([key]) => key === 'query' || key === 'match[]')?.[1];
        if (!retryable) throw new PromQlRequestError(`${detail}${query === undefined ? '' : ` (query: ${query})`}${remedyOf(response.status)}`, response.status, errorType);
        if (attempt >= MAX_ATTEMPTS) throw new RecoverableError(`${detail}, after ${attempt} attempts: the next cycle reads the same window again`);
      }
      // Full jitter: concurrent lanes that were throttled together do not come back together.
      await this.sleep(Math.random() * BASE_DELAY_MS * 2 ** attempt);
    }
  }

  private async slot<R>(work: () => Promise<R>): Promise<R> {
    while (this.inFlight >= this.options.maxInFlight) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight++;
    try {
      return await work();
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  private async send(path: string, params: ReadonlyArray<readonly [string, string]>): Promise<Response> {
    const url = new URL(path, this.options.endpoint);
    const query: Record<string, string> = {};
    for (const [key, value] of params) query[key] = value;
    const signed = await this.signer.sign({
      method: 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query,
      headers: { host: url.host },
    });
    for (const [key, value] of params) url.searchParams.append(key, value);
    const headers = Object.fromEntries(Object.entries(signed.headers).filter(([name]) => name.toLowerCase() !== 'host'));
    return fetch(url, { method: 'GET', headers });
  }
}

function seconds(ms: number): string {
  return String(ms / 1000);
}

function remedyOf(status: number): string {
  if (status === 403) return ': the bridge role needs cloudwatch:GetMetricData and cloudwatch:ListMetrics, and requests signed for service "monitoring" in the configured region';
  if (status === 400) return ': a selector of the PromQL metric mapping (promql-metrics.yaml) or of this source is not one CloudWatch accepts';
  return '';
}

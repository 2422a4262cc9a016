import { RecoverableError } from '../../../contract/errors';
import { USER_AGENT, type Authorizer } from './client';

/** One series of a range selector's raw samples: `[epoch ms, value]`, oldest first. */
export interface RawSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly samples: ReadonlyArray<readonly [number, number]>;
}

/** A query the workspace refused or could not answer; the message carries the HTTP status and what to check. */
export class PromQueryError extends RecoverableError {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

export type RawQuery = (selectorWithRange: string, atMs: number) => Promise<RawSeries[]>;

function hint(status: number): string {
  if (status === 401 || status === 403) return ' (the credentials need aps:QueryMetrics on the workspace, and SigV4 must sign for its region)';
  if (status === 404) return ' (check the workspace id and region)';
  return '';
}

/**
 * Instant queries of range selectors (`metric[1h]`), which return every raw sample with its own timestamp, against
 * a Prometheus query endpoint (AMP's `.../api/v1/query`). POSTed as a form, so the signer hashes the query with the
 * body exactly as the remote write is signed.
 */
export function rawQuery(queryUrl: string, authorize: Authorizer, fetchImpl: typeof fetch = fetch): RawQuery {
  const url = new URL(queryUrl);
  return async (selectorWithRange, atMs) => {
    const body = new TextEncoder().encode(new URLSearchParams({ query: selectorWithRange, time: (atMs / 1000).toFixed(3) }).toString());
    const headers = await authorize({ url, headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', 'User-Agent': USER_AGENT }, body });
    const response = await fetchImpl(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(15_000) });
    const text = await response.text();
    if (!response.ok) throw new PromQueryError(`query ${url.origin}${url.pathname} failed with HTTP ${response.status}: ${text.trim().slice(0, 300)}${hint(response.status)}`, response.status);
    const parsed = JSON.parse(text) as { status: string; error?: string; data?: { resultType: string; result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } };
    if (parsed.status !== 'success' || parsed.data?.resultType !== 'matrix') throw new PromQueryError(`query "${selectorWithRange}" did not return raw samples: ${parsed.error ?? parsed.data?.resultType}`, response.status);
    return parsed.data.result.map((r) => ({ metric: r.metric, samples: r.values.map(([t, v]) => [Math.round(t * 1000), Number(v)] as const) }));
  };
}

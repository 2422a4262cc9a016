import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { InferwatchError, RecoverableError } from '../contract/errors';
import { sigv4Auth, USER_AGENT, type Authorizer } from '../lambda/bridge/remote-write/client';

/**
 * Cost Explorer answers in us-east-1 only (`ce.us-east-1.amazonaws.com`), whatever region the usage is in. The
 * standard `AWS_ENDPOINT_URL_COST_EXPLORER` variable points it elsewhere (a stand-in), as the SDK would.
 */
export const COST_EXPLORER_REGION = 'us-east-1';
export const COST_EXPLORER_ENDPOINT = 'https://ce.us-east-1.amazonaws.com/';

/** The usage type of GetMetricData's metrics is `<region prefix>-CW:GMD-Metrics` (no prefix in some accounts' us-east-1). */
const GMD_METRICS_USAGE_TYPE = /(^|-)CW:GMD-Metrics$/;

/** How far back Cost Explorer's daily data goes: 14 months. */
export const COST_EXPLORER_LOOKBACK_MONTHS = 14;

/** Cost Explorer refused or failed; the message names the HTTP status, the error code and what to check. */
export class CostExplorerError extends RecoverableError {}

/** The credentials may not call Cost Explorer: the user's permissions must change, retrying will not help. */
export class CostExplorerAccessError extends InferwatchError {
  readonly remedy = 'fix-config' as const;
}

/** One day's GetMetricData metrics in one region, as the bill counts them. */
export interface BilledDay {
  /** `YYYY-MM-DD`, UTC. */
  readonly day: string;
  /** Metrics billed (UsageQuantity of `*-CW:GMD-Metrics`). */
  readonly metrics: number;
  /** UnblendedCost, USD. */
  readonly usd: number;
  /** Cost Explorer marks the day's figures as estimated (not final yet). */
  readonly estimated: boolean;
}

interface CostAndUsagePage {
  readonly ResultsByTime?: Array<{
    TimePeriod?: { Start?: string; End?: string };
    Groups?: Array<{ Keys?: string[]; Metrics?: Record<string, { Amount?: string; Unit?: string }> }>;
    Estimated?: boolean;
  }>;
  readonly NextPageToken?: string;
}

export interface CostExplorerOptions {
  /** @default COST_EXPLORER_ENDPOINT, or AWS_ENDPOINT_URL_COST_EXPLORER */
  readonly endpoint?: string;
  /** @default the SDK's default credential chain (the CLI user's, never the bridge's role) */
  readonly credentials?: AwsCredentialIdentityProvider;
  readonly fetchImpl?: typeof fetch;
}

/** Cost Explorer's JSON 1.1 API, signed with SigV4 (service `ce`, region us-east-1). */
export class CostExplorer {
  private readonly url: URL;
  private readonly authorize: Authorizer;
  private readonly fetchImpl: typeof fetch;

  constructor(options: CostExplorerOptions = {}, env: NodeJS.ProcessEnv = process.env) {
    this.url = new URL(options.endpoint ?? env.AWS_ENDPOINT_URL_COST_EXPLORER ?? env.AWS_ENDPOINT_URL ?? COST_EXPLORER_ENDPOINT);
    this.authorize = sigv4Auth(COST_EXPLORER_REGION, options.credentials ?? defaultProvider(), 'ce');
    this.fetchImpl = options.fetchImpl ?? fetch;
  }

  /**
   * GetMetricData's billed metrics in `region` per day over `[start, end)` (`YYYY-MM-DD`, end exclusive, as Cost
   * Explorer counts), following NextPageToken.
   */
  async getMetricDataUsage(region: string, start: string, end: string): Promise<BilledDay[]> {
    const days: DayTotals = new Map();
    let token: string | undefined;
    do {
      const page = await this.call<CostAndUsagePage>('GetCostAndUsage', {
        TimePeriod: { Start: start, End: end },
        Granularity: 'DAILY',
        Metrics: ['UsageQuantity', 'UnblendedCost'],
        Filter: {
          And: [{ Dimensions: { Key: 'SERVICE', Values: ['AmazonCloudWatch'] } }, { Dimensions: { Key: 'REGION', Values: [region] } }],
        },
        GroupBy: [{ Type: 'DIMENSION', Key: 'USAGE_TYPE' }],
        ...(token ? { NextPageToken: token } : {}),
      });
      addGetMetricDataDays(days, page);
      token = page.NextPageToken;
    } while (token);
    return [...days].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, d]) => ({ day, ...d }));
  }

  private async call<T>(operation: string, input: unknown): Promise<T> {
    const body = new TextEncoder().encode(JSON.stringify(input));
    const headers = await this.authorize({
      url: this.url,
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `AWSInsightsIndexService.${operation}`, 'User-Agent': USER_AGENT },
      body,
    });
    let response: Response;
    try {
      response = await this.fetchImpl(this.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(30_000) });
    } catch (cause) {
      throw new CostExplorerError(`Cost Explorer ${operation} at ${this.url.origin} could not be reached: ${(cause as Error).message}`, { cause });
    }
    const text = await response.text();
    if (response.ok) return JSON.parse(text) as T;
    throw costExplorerFailure(operation, response.status, text);
  }
}

type Group = NonNullable<NonNullable<CostAndUsagePage['ResultsByTime']>[number]['Groups']>[number];
const isGetMetricDataMetrics = (group: Group) => GMD_METRICS_USAGE_TYPE.test(group.Keys?.[0] ?? '');
const amount = (group: Group, metric: string) => Number(group.Metrics?.[metric]?.Amount ?? 0);

type DayTotals = Map<string, { metrics: number; usd: number; estimated: boolean }>;

/** Adds a page's `*-CW:GMD-Metrics` groups to the days' totals. */
function addGetMetricDataDays(days: DayTotals, page: CostAndUsagePage): void {
  for (const result of page.ResultsByTime ?? []) {
    const day = result.TimePeriod?.Start;
    if (!day) continue;
    const entry = days.get(day) ?? { metrics: 0, usd: 0, estimated: false };
    entry.estimated ||= result.Estimated === true;
    for (const group of (result.Groups ?? []).filter(isGetMetricDataMetrics)) {
      entry.metrics += amount(group, 'UsageQuantity');
      entry.usd += amount(group, 'UnblendedCost');
    }
    days.set(day, entry);
  }
}

function costExplorerFailure(operation: string, status: number, text: string): Error {
  let code = '';
  let message = text.trim().slice(0, 300);
  try {
    const parsed = JSON.parse(text) as { __type?: string; message?: string; Message?: string };
    code = (parsed.__type ?? '').replace(/^.*#/, '');
    message = parsed.message ?? parsed.Message ?? message;
  } catch {
    // not JSON: keep the text
  }
  const said = `Cost Explorer ${operation} failed with HTTP ${status}${code ? ` ${code}` : ''}: ${message}`;
  if (code === 'AccessDeniedException' || status === 403) {
    return new CostExplorerAccessError(
      `${said}. Grant the user running the CLI "ce:GetCostAndUsage" (Resource "*"; Cost Explorer enabled for the account; a member account of an organization sees only its own costs). The bridge Lambda never needs it.`,
    );
  }
  if (code === 'DataUnavailableException') return new CostExplorerError(`${said} (Cost Explorer has no data for these days yet: it is enabled about 24 hours after first use)`);
  if (code === 'LimitExceededException') return new CostExplorerError(`${said} (Cost Explorer allows a few requests a second: try again in a minute)`);
  return new CostExplorerError(said);
}

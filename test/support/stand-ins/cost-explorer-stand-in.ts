import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { listenOnLoopback } from '../harness/local-server';

export const CE_ACCESS_KEY = 'AKIDCESTANDIN';
export const CE_SECRET = 'ce-stand-in-secret';

/** The service names GetCostAndUsage's Metrics accepts (case-sensitive). */
const METRICS = ['AmortizedCost', 'BlendedCost', 'NetAmortizedCost', 'NetUnblendedCost', 'NormalizedUsageAmount', 'UnblendedCost', 'UsageQuantity'];
/** Dimension keys this stand-in knows (a subset of the documented list: the ones a filter or grouping here uses, and a few more). */
const DIMENSIONS = ['AZ', 'INSTANCE_TYPE', 'LINKED_ACCOUNT', 'OPERATION', 'PURCHASE_TYPE', 'REGION', 'SERVICE', 'USAGE_TYPE', 'USAGE_TYPE_GROUP', 'RECORD_TYPE'];
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** GetMetricData's list price the stand-in bills at: USD per metric. */
const USD_PER_METRIC = 0.01 / 1000;

/** One line of the stand-in's bill: a usage type's quantity on a UTC day. */
export interface UsageLine {
  readonly day: string;
  readonly service: string;
  readonly region: string;
  readonly usageType: string;
  readonly quantity: number;
}

class CeError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Expression = Record<string, unknown>;

/**
 * Cost Explorer's GetCostAndUsage as documented (AWS JSON 1.1, target `AWSInsightsIndexService.`, SigV4 service `ce`
 * in us-east-1 only): TimePeriod Start inclusive, End exclusive, dates `YYYY-MM-DD`, Start before End, not more
 * than 14 months back; Granularity DAILY | MONTHLY | HOURLY; Metrics required, from the documented names; at most
 * two GroupBy; a Filter expression holds exactly one operator, And/Or at least two; NextPageToken pages, refused
 * when the request changed between pages. The last `estimatedDays` days are `Estimated`.
 */
export class CostExplorerStandIn {
  readonly lines: UsageLine[] = [];
  /** Days per page, to make the client follow NextPageToken. */
  pageDays = 3;
  estimatedDays = 2;
  /** When set, every call is refused as an IAM policy without ce:GetCostAndUsage would be. */
  denied = false;
  readonly requests: Array<Record<string, unknown>> = [];
  private server: Server | undefined;
  private readonly pages = new Map<string, { request: string; offset: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/`;
  }

  env(): Record<string, string> {
    return { AWS_ENDPOINT_URL_COST_EXPLORER: this.url, AWS_ACCESS_KEY_ID: CE_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: CE_SECRET };
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await listenOnLoopback(this.server);
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Adds GetMetricData metrics billed in `region` on `day` (`<prefix>-CW:GMD-Metrics`). */
  bill(day: string, region: string, usageType: string, quantity: number, service = 'AmazonCloudWatch'): void {
    this.lines.push({ day, service, region, usageType, quantity });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    try {
      if (req.method !== 'POST' || req.url !== '/') throw new CeError(404, 'UnknownOperationException', `${req.method} ${req.url}`);
      await this.verifySignature(req, body);
      if (req.headers['content-type'] !== 'application/x-amz-json-1.1') throw new CeError(400, 'SerializationException', `Content-Type ${req.headers['content-type']}`);
      if (req.headers['x-amz-target'] !== 'AWSInsightsIndexService.GetCostAndUsage') throw new CeError(400, 'UnknownOperationException', `${req.headers['x-amz-target']}`);
      const input = JSON.parse(body.toString()) as Record<string, unknown>;
      this.requests.push(input);
      if (this.denied) {
        throw new CeError(400, 'AccessDeniedException', `User: arn:aws:iam::123456789012:user/analyst is not authorized to perform: ce:GetCostAndUsage on resource: arn:aws:ce:us-east-1:123456789012:/GetCostAndUsage`);
      }
      this.json(res, 200, this.getCostAndUsage(input));
    } catch (error) {
      if (!(error instanceof CeError)) throw error;
      res.writeHead(error.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': error.code });
      res.end(JSON.stringify({ __type: error.code, Message: error.message }));
    }
  }

  private getCostAndUsage(input: Record<string, unknown>): unknown {
    const { start, end } = this.timePeriod(input.TimePeriod);
    if (input.Granularity !== 'DAILY') throw new CeError(400, 'ValidationException', `this stand-in serves Granularity DAILY (got ${String(input.Granularity)})`);
    const metrics = input.Metrics;
    if (!Array.isArray(metrics) || metrics.length === 0) throw new CeError(400, 'ValidationException', 'Metrics is required');
    for (const m of metrics) if (!METRICS.includes(String(m))) throw new CeError(400, 'ValidationException', `Invalid metric: ${String(m)}. Valid metrics: ${METRICS.join(', ')}`);
    const groupBy = (input.GroupBy ?? []) as Array<{ Type?: string; Key?: string }>;
    if (groupBy.length > 2) throw new CeError(400, 'ValidationException', 'GroupBy takes at most two groups');
    for (const g of groupBy) if (g.Type !== 'DIMENSION' || !DIMENSIONS.includes(String(g.Key))) throw new CeError(400, 'ValidationException', `Invalid group by: ${JSON.stringify(g)}`);
    const filter = input.Filter === undefined ? () => true : this.compile(input.Filter as Expression);
    const days = Array.from({ length: (Date.parse(end) - Date.parse(start)) / DAY_MS }, (_, i) => new Date(Date.parse(start) + i * DAY_MS).toISOString().slice(0, 10));
    const { NextPageToken: token, ...request } = input;
    let offset = 0;
    if (token !== undefined) {
      const page = this.pages.get(String(token));
      if (!page) throw new CeError(400, 'InvalidNextTokenException', 'The token is invalid');
      if (page.request !== JSON.stringify(request)) throw new CeError(400, 'RequestChangedException', 'Your request parameters changed between pages');
      offset = page.offset;
    }
    const shown = days.slice(offset, offset + this.pageDays);
    const next = offset + this.pageDays < days.length ? `page-${this.pages.size + 1}` : undefined;
    if (next) this.pages.set(next, { request: JSON.stringify(request), offset: offset + this.pageDays });
    const estimatedFrom = Math.floor(this.now() / DAY_MS) * DAY_MS - this.estimatedDays * DAY_MS;
    return {
      GroupDefinitions: groupBy,
      ResultsByTime: shown.map((day) => ({
        TimePeriod: { Start: day, End: new Date(Date.parse(day) + DAY_MS).toISOString().slice(0, 10) },
        Total: {},
        Groups: this.groups(day, filter, groupBy, metrics as string[]),
        Estimated: Date.parse(day) >= estimatedFrom,
      })),
      DimensionValueAttributes: [],
      ...(next ? { NextPageToken: next } : {}),
    };
  }

  private timePeriod(period: unknown): { start: string; end: string } {
    const { Start: start, End: end } = (period ?? {}) as { Start?: string; End?: string };
    if (!start || !end || !DATE.test(start) || !DATE.test(end)) throw new CeError(400, 'ValidationException', `TimePeriod Start and End are required, as YYYY-MM-DD (got ${JSON.stringify(period)})`);
    if (start >= end) throw new CeError(400, 'ValidationException', `Start date (${start}) must be before end date (${end}); the end date is exclusive`);
    const oldest = new Date(this.now());
    oldest.setUTCMonth(oldest.getUTCMonth() - 14);
    if (start < oldest.toISOString().slice(0, 10)) throw new CeError(400, 'ValidationException', `start date ${start} is too old: historical data beyond 14 months is not available`);
    return { start, end };
  }

  private compile(expression: Expression): (line: UsageLine) => boolean {
    const operators = Object.keys(expression).filter((k) => expression[k] !== undefined);
    if (operators.length !== 1) throw new CeError(400, 'ValidationException', `Expression must have exactly one of And, Or, Not, Dimensions, Tags, CostCategories (got ${operators.join(', ')})`);
    const [operator] = operators as [string];
    if (operator === 'And' || operator === 'Or') {
      const parts = expression[operator] as Expression[];
      if (!Array.isArray(parts) || parts.length < 2) throw new CeError(400, 'ValidationException', `${operator} needs at least two expressions`);
      const compiled = parts.map((p) => this.compile(p));
      return operator === 'And' ? (line) => compiled.every((f) => f(line)) : (line) => compiled.some((f) => f(line));
    }
    if (operator === 'Not') {
      const inner = this.compile(expression.Not as Expression);
      return (line) => !inner(line);
    }
    if (operator !== 'Dimensions') throw new CeError(400, 'ValidationException', `this stand-in filters on Dimensions only (got ${operator})`);
    const { Key: key, Values: values } = expression.Dimensions as { Key?: string; Values?: string[] };
    if (!DIMENSIONS.includes(String(key)) || !Array.isArray(values) || values.length === 0) throw new CeError(400, 'ValidationException', `Invalid dimension filter: ${JSON.stringify(expression.Dimensions)}`);
    return (line) => values.includes(this.dimension(line, String(key)));
  }

  private dimension(line: UsageLine, key: string): string {
    if (key === 'SERVICE') return line.service;
    if (key === 'REGION') return line.region;
    if (key === 'USAGE_TYPE') return line.usageType;
    return '';
  }

  private groups(day: string, filter: (line: UsageLine) => boolean, groupBy: Array<{ Key?: string }>, metrics: string[]): unknown[] {
    const totals = new Map<string, number>();
    for (const line of this.lines.filter((l) => l.day === day && filter(l))) {
      const keys = JSON.stringify(groupBy.map((g) => this.dimension(line, String(g.Key))));
      totals.set(keys, (totals.get(keys) ?? 0) + line.quantity);
    }
    const value = (metric: string, quantity: number) => (metric === 'UsageQuantity' ? { Amount: String(quantity), Unit: 'Metrics' } : { Amount: String(quantity * USD_PER_METRIC), Unit: 'USD' });
    return [...totals].map(([keys, quantity]) => ({ Keys: JSON.parse(keys) as string[], Metrics: Object.fromEntries(metrics.map((m) => [m, value(m, quantity)])) }));
  }

  /** Recomputes the SigV4 signature (service ce, us-east-1, the stand-in's key) from what arrived; a mismatch is a 403. */
  private async verifySignature(req: IncomingMessage, body: Buffer): Promise<void> {
    const parsed = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(String(req.headers.authorization ?? ''));
    if (!parsed) throw new CeError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    const [, accessKey, , region, service, signedHeaders, signature] = parsed as unknown as string[];
    if (accessKey !== CE_ACCESS_KEY) throw new CeError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    if (service !== 'ce' || region !== 'us-east-1') throw new CeError(403, 'InvalidSignatureException', `Credential should be scoped to correct service/region: expected us-east-1/ce, got ${region}/${service}`);
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    const signingDate = new Date(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    if (Number.isNaN(signingDate.getTime()) || Math.abs(Date.now() - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) throw new CeError(403, 'InvalidSignatureException', `Signature expired or X-Amz-Date missing: ${amzDate}`);
    const headers: Record<string, string> = {};
    for (const name of (signedHeaders as string).split(';')) {
      const value = req.headers[name];
      if (value === undefined) throw new CeError(403, 'InvalidSignatureException', `signed header ${name} is missing`);
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    const signer = new SignatureV4({ service: 'ce', region: 'us-east-1', credentials: { accessKeyId: CE_ACCESS_KEY, secretAccessKey: CE_SECRET }, sha256: Sha256, applyChecksum: 'x-amz-content-sha256' in headers });
    const expected = await signer.sign(
      { method: 'POST', protocol: 'http:', hostname: '127.0.0.1', path: '/', query: {}, headers, body: new Uint8Array(body) },
      { signingDate, unsignableHeaders: new Set(), signableHeaders: new Set(Object.keys(headers)) },
    );
    const recomputed = /Signature=([0-9a-f]{64})/.exec(String(expected.headers.authorization ?? expected.headers.Authorization))?.[1];
    if (recomputed !== signature) throw new CeError(403, 'InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');
  }

  private json(res: ServerResponse, status: number, payload: unknown): void {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify(payload));
  }
}

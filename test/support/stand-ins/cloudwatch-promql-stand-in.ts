import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SigV4Refusal, verifySigV4 } from './sigv4-verifier';
import { listenOnLoopback } from '../harness/local-server';

/**
 * CloudWatch's Prometheus-compatible API (QueryMetrics `/api/v1/query` and `/api/v1/query_range`, GetSeries
 * `/api/v1/series`, GetLabels `/api/v1/labels`, `/api/v1/label/<name>/values`), as strict as its pages
 * (docs/promql-source.md lists them with their URLs):
 * - SigV4 with service `monitoring` in the stand-in's region, or 403;
 * - every selector names its metric with `=` (`{"name"}`, `{__name__="name"}` or a bare classic name), or 400;
 * - names outside the classic character set only in the quoted form (`{"http.server.x", "@resource.host.id"="i"}`):
 *   a bare dotted name is a parse error, 400;
 * - `limit` 1 to 500 (QueryMetrics) or 10,000 (GetSeries), default the maximum; more matching series are cut to it;
 * - a request's scan (its range plus a range selector's reach) at most 24 hours, or 400;
 * - OTel counters and histograms in delta temporality: each sample is one interval's amount, stamped at its end;
 * - histograms as CloudWatch stores them, exponential ("CloudWatch stores both [explicit-bucket and exponential] as
 *   exponential histograms. It might reduce the scale"): served as Prometheus native histograms in the HTTP API's
 *   `histograms` field (`{count, sum, buckets: [[boundaryRule, lower, upper, count]]}`), at most `histogramMaxScale`,
 *   `sum_over_time` adding a range's histograms at the lowest scale among them, as Prometheus does.
 * Only the expressions the bridge sends are evaluated: a selector, or `<fn>_over_time(selector[range])`.
 */

export const STAND_IN_ACCESS_KEY = 'AKIDSTANDIN';
const STAND_IN_SECRET = 'stand-in-secret';
const SIGNING_SERVICE = 'monitoring';
const SCAN_WINDOW_MS = 24 * 3600 * 1000;
const QUERY_LIMIT = 500;
const SERIES_LIMIT = 10_000;
/** Prometheus' own bound on a range query's resolution, which the compatible API keeps. */
const MAX_POINTS_PER_SERIES = 11_000;
const LOOKBACK_MS = 5 * 60 * 1000;

export interface PromSeriesData {
  /** Every label, `__name__` included, as the API exposes it (`@resource.host.id`, `aws.sagemaker.endpoint.name`). */
  readonly labels: Readonly<Record<string, string>>;
  /** `delta`: OTel delta sums or histograms, each sample the amount of the interval ending at its timestamp. */
  readonly temporality: 'delta' | 'gauge';
  /** `[epoch ms, value]`, ascending (empty for a histogram). */
  readonly samples: Array<[number, number]>;
  /** `[epoch ms, histogram]`, ascending: an OTel histogram metric's datapoints. */
  readonly histograms?: Array<[number, ExponentialHistogram]>;
}

/** An OTel exponential histogram datapoint (positive buckets): bucket `offset + k` counts values in (base^i, base^(i+1)], base = 2^(2^-scale). */
export interface ExponentialHistogram {
  readonly scale: number;
  readonly count: number;
  readonly sum: number;
  readonly zeroCount: number;
  readonly positive: { readonly offset: number; readonly bucketCounts: readonly number[] };
}

/** The upper bound of an OTel exponential bucket (the lower is that of `index - 1`). */
export function exponentialBound(index: number, scale: number): number {
  return 2 ** ((index + 1) * 2 ** -scale);
}

/** The same observations at a lower (coarser) scale: bucket i becomes floor(i / 2^(scale - to)), counts merged. */
export function reduceScale(h: ExponentialHistogram, to: number): ExponentialHistogram {
  if (to >= h.scale) return h;
  const shift = h.scale - to;
  const merged = new Map<number, number>();
  h.positive.bucketCounts.forEach((c, k) => {
    const i = Math.floor((h.positive.offset + k) / 2 ** shift);
    merged.set(i, (merged.get(i) ?? 0) + c);
  });
  return { ...h, scale: to, positive: denseBuckets(merged) };
}

function denseBuckets(byIndex: ReadonlyMap<number, number>): ExponentialHistogram['positive'] {
  if (byIndex.size === 0) return { offset: 0, bucketCounts: [] };
  const offset = Math.min(...byIndex.keys());
  const last = Math.max(...byIndex.keys());
  return { offset, bucketCounts: Array.from({ length: last - offset + 1 }, (_, k) => byIndex.get(offset + k) ?? 0) };
}

/** Prometheus' histogram addition: both at the lower of their scales, then bucket by bucket. */
export function addHistograms(a: ExponentialHistogram, b: ExponentialHistogram): ExponentialHistogram {
  const scale = Math.min(a.scale, b.scale);
  const byIndex = new Map<number, number>();
  for (const h of [reduceScale(a, scale), reduceScale(b, scale)]) h.positive.bucketCounts.forEach((c, k) => byIndex.set(h.positive.offset + k, (byIndex.get(h.positive.offset + k) ?? 0) + c));
  return { scale, count: a.count + b.count, sum: a.sum + b.sum, zeroCount: a.zeroCount + b.zeroCount, positive: denseBuckets(byIndex) };
}

export interface PromCall {
  readonly path: string;
  readonly params: Record<string, string[]>;
  readonly status: number;
}

interface Matcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

interface Expression {
  readonly fn?: string;
  readonly matchers: readonly Matcher[];
  readonly rangeMs?: number;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
    /** Auth failures come from AWS's front door: `{message}` and `x-amzn-ErrorType`, not Prometheus' envelope. */
    readonly aws = false,
  ) {
    super(message);
  }
}

const badData = (message: string) => new ApiError(400, 'bad_data', message);
const RANGE_FUNCTIONS = new Set(['sum_over_time', 'last_over_time', 'max_over_time', 'min_over_time', 'avg_over_time', 'count_over_time']);

export class CloudWatchPromQlStandIn {
  readonly series: PromSeriesData[] = [];
  readonly calls: PromCall[] = [];
  /** Answer every request with AccessDeniedException (a role without cloudwatch:GetMetricData / ListMetrics). */
  denyAll = false;
  /** Requests per second before ThrottlingException (429), over a sliding second. @default Infinity */
  tps = Infinity;
  /** The finest scale histograms are served at: CloudWatch "might reduce the scale" of what it stores. @default 3 */
  histogramMaxScale = 3;
  private recent: number[] = [];
  private server: Server | undefined;

  constructor(readonly region = 'us-east-2') {}

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await listenOnLoopback(this.server);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  callsTo(path: string): PromCall[] {
    return this.calls.filter((c) => c.path === path);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const params = collectParams(url.searchParams, req.method === 'POST' ? new URLSearchParams(body.toString('utf8')) : undefined);
    let status = 200;
    try {
      await this.verifySignature(req, url, body);
      if (this.denyAll) throw new ApiError(403, 'AccessDeniedException', 'User is not authorized to perform: cloudwatch:GetMetricData', true);
      this.throttle();
      const data = this.route(req.method ?? 'GET', url.pathname, params);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data }));
    } catch (error) {
      const e = error instanceof ApiError ? error : new ApiError(500, 'internal', String(error));
      status = e.status;
      const payload = e.aws ? { message: e.message } : { status: 'error', errorType: e.errorType, error: e.message };
      res.writeHead(e.status, { 'content-type': 'application/json', ...(e.aws ? { 'x-amzn-errortype': e.errorType } : {}) }).end(JSON.stringify(payload));
    }
    this.calls.push({ path: url.pathname, params, status });
  }

  private throttle(): void {
    const now = Date.now();
    this.recent = this.recent.filter((t) => now - t < 1000);
    if (this.recent.length >= this.tps) throw new ApiError(429, 'ThrottlingException', 'Rate exceeded', true);
    this.recent.push(now);
  }

  private route(method: string, path: string, params: Record<string, string[]>): unknown {
    const values = /^\/api\/v1\/label\/([^/]+)\/values$/.exec(path);
    if (values) {
      if (method !== 'GET') throw new ApiError(405, 'bad_data', `${method} is not valid for ${path}: GET only`);
      return this.labelValues(decodeURIComponent(values[1] as string), params);
    }
    if (method !== 'GET' && method !== 'POST') throw new ApiError(405, 'bad_data', `${method} is not valid: GET or POST`);
    if (path === '/api/v1/query_range') return this.queryRange(params);
    if (path === '/api/v1/query') return this.instantQuery(params);
    if (path === '/api/v1/series') return this.getSeries(params);
    if (path === '/api/v1/labels') return this.labelNames(params);
    throw new ApiError(404, 'not_found', `no such API: ${path}`);
  }

  private queryRange(params: Record<string, string[]>): unknown {
    const expression = parseExpression(required(params, 'query'));
    const start = parseTime(required(params, 'start'), 'start');
    const end = parseTime(required(params, 'end'), 'end');
    const step = parseDuration(required(params, 'step'), 'step');
    if (end < start) throw badData('end timestamp must not be before start time');
    if (step <= 0) throw badData('zero or negative query resolution step widths are not accepted. Try a positive integer');
    if ((end - start) / step > MAX_POINTS_PER_SERIES) throw badData('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
    this.checkScan(start - (expression.rangeMs ?? LOOKBACK_MS), end);
    const limit = parseLimit(params, QUERY_LIMIT);
    const result = [];
    for (const s of this.select(expression.matchers)) {
      const values: Array<[number, string]> = [];
      const histograms: Array<[number, NativeHistogramJson]> = [];
      for (let t = start; t <= end; t += step) {
        const v = evaluate(expression, s, t);
        if (v !== undefined) values.push([t / 1000, formatValue(v)]);
        const h = evaluateHistogram(expression, s, t, this.histogramMaxScale);
        if (h !== undefined) histograms.push([t / 1000, nativeJson(h)]);
      }
      // Prometheus' matrix: `values` for float samples, `histograms` for histogram samples, each only when there are some.
      if (values.length > 0 || histograms.length > 0) result.push({ metric: outputLabels(expression, s), ...(values.length > 0 ? { values } : {}), ...(histograms.length > 0 ? { histograms } : {}) });
    }
    return { resultType: 'matrix', result: result.slice(0, limit) };
  }

  private instantQuery(params: Record<string, string[]>): unknown {
    const expression = parseExpression(required(params, 'query'));
    const time = params.time?.[0] !== undefined ? parseTime(params.time[0], 'time') : Date.now();
    this.checkScan(time - (expression.rangeMs ?? LOOKBACK_MS), time);
    const result = [];
    for (const s of this.select(expression.matchers)) {
      const v = evaluate(expression, s, time);
      if (v !== undefined) result.push({ metric: outputLabels(expression, s), value: [time / 1000, formatValue(v)] });
      const h = evaluateHistogram(expression, s, time, this.histogramMaxScale);
      if (h !== undefined) result.push({ metric: outputLabels(expression, s), histogram: [time / 1000, nativeJson(h)] });
    }
    return { resultType: 'vector', result: result.slice(0, parseLimit(params, QUERY_LIMIT)) };
  }

  private getSeries(params: Record<string, string[]>): unknown {
    const matches = params['match[]'] ?? [];
    if (matches.length === 0) throw badData('no match[] parameter provided');
    const start = parseTime(required(params, 'start'), 'start');
    const end = parseTime(required(params, 'end'), 'end');
    this.checkScan(start, end);
    const found = new Map<PromSeriesData, true>();
    for (const match of matches) {
      const expression = parseExpression(match);
      if (expression.fn !== undefined || expression.rangeMs !== undefined) throw badData(`match[] must be a series selector: ${match}`);
      for (const s of this.select(expression.matchers)) if (timestamps(s).some((t) => t >= start && t <= end)) found.set(s, true);
    }
    return [...found.keys()].map((s) => ({ ...s.labels })).slice(0, parseLimit(params, SERIES_LIMIT));
  }

  private labelNames(params: Record<string, string[]>): string[] {
    const names = new Set<string>();
    for (const s of this.matching(params)) for (const name of Object.keys(s.labels)) names.add(name);
    return [...names].sort();
  }

  private labelValues(label: string, params: Record<string, string[]>): string[] {
    const values = new Set<string>();
    for (const s of this.matching(params)) if (s.labels[label] !== undefined) values.add(s.labels[label]);
    return [...values].sort();
  }

  /** The series `match[]` selects (all without it) with a sample in `[start, end]` when those are given. */
  private matching(params: Record<string, string[]>): PromSeriesData[] {
    const matches = params['match[]'];
    const start = params.start?.[0] !== undefined ? parseTime(params.start[0], 'start') : -Infinity;
    const end = params.end?.[0] !== undefined ? parseTime(params.end[0], 'end') : Infinity;
    if (Number.isFinite(start) && Number.isFinite(end)) this.checkScan(start, end);
    return this.series.filter(
      (s) => (matches === undefined || matches.some((m) => matchesAll(parseSelector(m, { requireName: false }), s.labels))) && timestamps(s).some((t) => t >= start && t <= end),
    );
  }

  private checkScan(from: number, to: number): void {
    if (to - from > SCAN_WINDOW_MS) {
      throw badData(`the query scans ${((to - from) / 3600_000).toFixed(2)} hours: CloudWatch scans at most 24 hours a request`);
    }
  }

  private select(matchers: readonly Matcher[]): PromSeriesData[] {
    return this.series.filter((s) => matchesAll(matchers, s.labels));
  }

  /** Recomputes the SigV4 signature from the request as received; any difference is AWS's 403. */
  private async verifySignature(req: IncomingMessage, url: URL, body: Buffer): Promise<void> {
    const credentials = { accessKeyId: STAND_IN_ACCESS_KEY, secretAccessKey: STAND_IN_SECRET };
    await verifySigV4(req, url, body, { service: SIGNING_SERVICE, region: this.region, credentials }).catch((error: unknown) => {
      throw error instanceof SigV4Refusal ? new ApiError(403, error.code, error.message, true) : error;
    });
  }
}

function collectParams(query: URLSearchParams, form: URLSearchParams | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const source of [query, form]) for (const [key, value] of source ?? []) (out[key] ??= []).push(value);
  return out;
}

function required(params: Record<string, string[]>, name: string): string {
  const value = params[name]?.[0];
  if (value === undefined || value === '') throw badData(`invalid parameter "${name}": required`);
  return value;
}

function parseLimit(params: Record<string, string[]>, max: number): number {
  const raw = params.limit?.[0];
  if (raw === undefined) return max;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > max) throw badData(`invalid parameter "limit": must be an integer from 1 to ${max}, got ${raw}`);
  return limit;
}

function parseTime(raw: string, name: string): number {
  const seconds = Number(raw);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(raw);
  if (!Number.isFinite(ms)) throw badData(`invalid parameter "${name}": cannot parse "${raw}" to a valid timestamp`);
  return Math.round(ms);
}

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

function parseDuration(raw: string, name: string): number {
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.round(Number(raw) * 1000);
  const parts = [...raw.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== raw) throw badData(`invalid parameter "${name}": cannot parse "${raw}" to a valid duration`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * (DURATION_MS[p[2] as string] as number), 0);
}

/** `[fn(] selector [\[range\]] [)]`: the subset the bridge sends; anything else is refused, never guessed. */
function parseExpression(query: string): Expression {
  const text = query.trim();
  const call = /^([a-z_]+)\((.*)\)$/s.exec(text);
  if (call) {
    const fn = call[1] as string;
    if (!RANGE_FUNCTIONS.has(fn)) throw badData(`the stand-in evaluates only ${[...RANGE_FUNCTIONS].join(', ')} and plain selectors, not ${fn}()`);
    const ranged = /^(.*)\[([0-9a-z]+)\]$/s.exec((call[2] as string).trim());
    if (!ranged) throw badData(`1:1: parse error: expected type range vector in call to function "${fn}", got instant vector`);
    return { fn, matchers: parseSelector(ranged[1] as string, { requireName: true }), rangeMs: parseDuration(ranged[2] as string, 'range') };
  }
  return { matchers: parseSelector(text, { requireName: true }) };
}

/** A vector selector, with Prometheus 3's quoted UTF-8 names; only double-quoted strings. */
export function parseSelector(text: string, options: { requireName: boolean }): Matcher[] {
  const scanner = new Scanner(text.trim());
  const matchers: Matcher[] = [];
  const bare = scanner.identifier(/[a-zA-Z_:][a-zA-Z0-9_:]*/y);
  if (bare !== undefined) matchers.push({ label: '__name__', op: '=', value: bare });
  if (scanner.peek() === '{') {
    scanner.expect('{');
    while (scanner.peek() !== '}') {
      matchers.push(scanner.matcher());
      if (scanner.peek() === ',') scanner.expect(',');
      else if (scanner.peek() !== '}') throw scanner.error('expected "," or "}"');
    }
    scanner.expect('}');
  }
  if (!scanner.done()) throw scanner.error('unexpected character');
  if (matchers.length === 0) throw badData(`1:1: parse error: unexpected end of input in ${JSON.stringify(text)}`);
  const names = matchers.filter((m) => m.label === '__name__');
  if (options.requireName && !(names.length === 1 && names[0]?.op === '=')) {
    throw badData(`the selector must select a metric by name with "=" (for example {"http.server.active_requests"}): ${text}`);
  }
  return matchers;
}

class Scanner {
  private at = 0;

  constructor(private readonly text: string) {}

  peek(): string | undefined {
    this.skipSpace();
    return this.text[this.at];
  }

  done(): boolean {
    return this.peek() === undefined;
  }

  expect(char: string): void {
    if (this.peek() !== char) throw this.error(`expected "${char}"`);
    this.at++;
  }

  identifier(pattern: RegExp): string | undefined {
    this.skipSpace();
    pattern.lastIndex = this.at;
    const match = pattern.exec(this.text);
    if (!match) return undefined;
    this.at += match[0].length;
    return match[0];
  }

  matcher(): Matcher {
    const label = this.peek() === '"' ? this.string() : this.identifier(/[a-zA-Z_][a-zA-Z0-9_]*/y);
    if (label === undefined) throw this.error('expected a label name (names outside [a-zA-Z_][a-zA-Z0-9_]* must be quoted)');
    const op = this.identifier(/=~|!~|!=|=/y) as Matcher['op'] | undefined;
    // A quoted string alone is the metric name: {"http.server.active_requests"}.
    if (op === undefined) return { label: '__name__', op: '=', value: label };
    if (this.peek() !== '"') throw this.error('expected a double-quoted label value');
    return { label, op, value: this.string() };
  }

  error(message: string): ApiError {
    return badData(`1:${this.at + 1}: parse error: ${message} in ${JSON.stringify(this.text)}`);
  }

  private string(): string {
    this.skipSpace();
    const match = /"(?:[^"\\]|\\.)*"/y;
    match.lastIndex = this.at;
    const literal = match.exec(this.text)?.[0];
    if (literal === undefined) throw this.error('unterminated string');
    this.at += literal.length;
    try {
      return JSON.parse(literal) as string;
    } catch {
      throw this.error(`invalid escape in ${literal}`);
    }
  }

  private skipSpace(): void {
    while (/\s/.test(this.text[this.at] ?? '')) this.at++;
  }
}

function matchesAll(matchers: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.every((m) => {
    const value = labels[m.label] ?? '';
    if (m.op === '=') return value === m.value;
    if (m.op === '!=') return value !== m.value;
    const hit = new RegExp(`^(?:${m.value})$`).test(value);
    return m.op === '=~' ? hit : !hit;
  });
}

/** The value at `t`: a range function over `(t - range, t]`, or a selector's newest sample within the lookback. */
function evaluate(expression: Expression, series: PromSeriesData, t: number): number | undefined {
  const reach = expression.rangeMs ?? LOOKBACK_MS;
  const inRange = series.samples.filter(([ts]) => ts > t - reach && ts <= t).map(([, v]) => v);
  if (inRange.length === 0) return undefined;
  switch (expression.fn) {
    case 'sum_over_time':
      return inRange.reduce((a, b) => a + b, 0);
    case 'avg_over_time':
      return inRange.reduce((a, b) => a + b, 0) / inRange.length;
    case 'max_over_time':
      return Math.max(...inRange);
    case 'min_over_time':
      return Math.min(...inRange);
    case 'count_over_time':
      return inRange.length;
    default:
      return inRange[inRange.length - 1];
  }
}

function timestamps(series: PromSeriesData): number[] {
  return [...series.samples.map(([t]) => t), ...(series.histograms ?? []).map(([t]) => t)];
}

interface NativeHistogramJson {
  readonly count: string;
  readonly sum: string;
  readonly buckets: Array<[number, string, string, string]>;
}

/**
 * A histogram series at `t`: `sum_over_time` adds the range's histograms, `last_over_time` and a plain selector take
 * the newest; Prometheus' other `_over_time` functions ignore histogram samples.
 */
function evaluateHistogram(expression: Expression, series: PromSeriesData, t: number, maxScale: number): ExponentialHistogram | undefined {
  const reach = expression.rangeMs ?? LOOKBACK_MS;
  const inRange = (series.histograms ?? []).filter(([ts]) => ts > t - reach && ts <= t).map(([, h]) => reduceScale(h, maxScale));
  if (inRange.length === 0) return undefined;
  if (expression.fn === 'sum_over_time') return inRange.reduce(addHistograms);
  if (expression.fn === undefined || expression.fn === 'last_over_time') return inRange[inRange.length - 1];
  return undefined;
}

/** Prometheus' JSON for a native histogram: boundary rule 0 is (lower, upper], 3 is the zero bucket's [lower, upper]. */
function nativeJson(h: ExponentialHistogram): NativeHistogramJson {
  const buckets: Array<[number, string, string, string]> = [];
  // OTel's default zero threshold is 0: the zero bucket holds exact zeros only.
  if (h.zeroCount > 0) buckets.push([3, '0', '0', formatValue(h.zeroCount)]);
  h.positive.bucketCounts.forEach((c, k) => {
    const index = h.positive.offset + k;
    if (c > 0) buckets.push([0, formatValue(exponentialBound(index - 1, h.scale)), formatValue(exponentialBound(index, h.scale)), formatValue(c)]);
  });
  return { count: formatValue(h.count), sum: formatValue(h.sum), buckets };
}

/** Functions drop the metric name, as Prometheus does. */
function outputLabels(expression: Expression, series: PromSeriesData): Record<string, string> {
  if (expression.fn === undefined) return { ...series.labels };
  const { __name__: _dropped, ...rest } = series.labels;
  void _dropped;
  return rest;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

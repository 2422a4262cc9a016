import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudWatchStandIn } from './cloudwatch-stand-in';
import { ComponentsAndTags, TAGGING_TARGET_PREFIX } from './components-tags-stand-in';
import type { Dimension, FleetEndpoint, FleetOptions } from './fleet';
import { DEFAULT_TIME, SageMakerStandIn } from './sagemaker-stand-in';
import { closeServer } from '../harness/local-server';

/**
 * One local HTTP endpoint for the AWS services the bridge reads: CloudWatch (AWS JSON 1.0,
 * `GraniteServiceVersion20100801.`, cloudwatch-stand-in.ts), SageMaker (AWS JSON 1.1, `SageMaker.`,
 * sagemaker-stand-in.ts), and inference components and the tagging API's GetResources
 * (components-tags-stand-in.ts), over the fleet of fleet.ts. It routes each request by its X-Amz-Target, records it,
 * applies the TPS quotas, injected latency and failures. The SDK reaches it through the standard
 * AWS_ENDPOINT_URL_CLOUDWATCH / AWS_ENDPOINT_URL_SAGEMAKER / AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API variables.
 */

export interface StandInOptions {
  /** Delay before every CloudWatch and SageMaker answer, throttling errors included. Requests are served concurrently. @default 0 */
  readonly latencyMs?: number;
  /**
   * Requests per second per action before CloudWatch answers `Throttling` (sliding one-second window, accepted calls only).
   * AWS's default quota for GetMetricData is 50 TPS per Region (CloudWatch service quotas,
   * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html).
   * @default { GetMetricData: 50 }
   */
  readonly tpsLimits?: Readonly<Record<string, number>>;
  /** Keep every request body in `calls` (tests inspect them); a fleet-scale benchmark turns this off and reads `counts`. @default true */
  readonly recordBodies?: boolean;
  /** CloudWatch's clock, epoch ms: high-resolution datapoints are kept 3 hours before it. @default Date.now */
  readonly now?: () => number;
}

export interface RecordedCall {
  readonly target: string;
  readonly body: Record<string, unknown>;
}

export class AwsStandIn {
  readonly calls: RecordedCall[] = [];
  /** Requests per target action (e.g. `GetMetricData`, `ListEndpoints`), throttled ones included. */
  readonly counts = new Map<string, number>();
  /** Requests refused with `Throttling`, per action. */
  readonly throttled = new Map<string, number>();
  /** The most requests in flight at once (received, not yet answered): the concurrency the client used. */
  peakInFlight = 0;
  readonly cloudwatch: CloudWatchStandIn;
  readonly sagemaker: SageMakerStandIn;
  /** Inference components (copy counts) and resource tags. */
  readonly componentsAndTags: ComponentsAndTags;
  private inFlight = 0;
  private readonly recent = new Map<string, number[]>();
  private readonly latencyMs: number;
  private readonly tpsLimits: Readonly<Record<string, number>>;
  private readonly recordBodies: boolean;
  private server: Server | undefined;
  private throttleRemaining = 0;
  private failRemaining = 0;
  private requests = 0;

  constructor(
    readonly fleet: FleetOptions,
    options: StandInOptions = {},
  ) {
    this.latencyMs = options.latencyMs ?? 0;
    this.tpsLimits = options.tpsLimits ?? { GetMetricData: 50 };
    this.recordBodies = options.recordBodies ?? true;
    this.cloudwatch = new CloudWatchStandIn(fleet, options.now ?? Date.now);
    this.sagemaker = new SageMakerStandIn(fleet.endpoints);
    this.componentsAndTags = new ComponentsAndTags(fleet.endpoints, DEFAULT_TIME);
  }

  // CloudWatch's counters and page sizes, where the tests and the bench have always read them.
  /** What CloudWatch bills GetMetricData for: the queries of every accepted first page (no NextToken). */
  get metricsRequested(): number {
    return this.cloudwatch.metricsRequested;
  }
  set metricsRequested(value: number) {
    this.cloudwatch.metricsRequested = value;
  }
  /** Accepted GetMetricData first pages: the minimum number of calls is ceil(queries / 500) per window read. */
  get getMetricDataFirstPages(): number {
    return this.cloudwatch.getMetricDataFirstPages;
  }
  set getMetricDataFirstPages(value: number) {
    this.cloudwatch.getMetricDataFirstPages = value;
  }
  /** Datapoints answered by GetMetricData, over every page. */
  get datapointsServed(): number {
    return this.cloudwatch.datapointsServed;
  }
  set datapointsServed(value: number) {
    this.cloudwatch.datapointsServed = value;
  }
  /** The latest GetMetricData EndTime seen (epoch ms): how far the bridge has read. */
  get latestEndTime(): number {
    return this.cloudwatch.latestEndTime;
  }
  set latestEndTime(value: number) {
    this.cloudwatch.latestEndTime = value;
  }
  /** Small pages force NextToken, as CloudWatch does past 100,800 datapoints. */
  get datapointsPerPage(): number {
    return this.cloudwatch.datapointsPerPage;
  }
  set datapointsPerPage(value: number) {
    this.cloudwatch.datapointsPerPage = value;
  }
  get listMetricsPageSize(): number {
    return this.cloudwatch.listMetricsPageSize;
  }
  set listMetricsPageSize(value: number) {
    this.cloudwatch.listMetricsPageSize = value;
  }
  /** Percentile and trimmed-count (TC) statistics asked per metric: a metric stream sends them as extra updates. */
  get extraStatistics(): Map<string, Set<string>> {
    return this.cloudwatch.extraStatistics;
  }
  /** Distinct (metric, statistic, period) queries on first pages: what a scraper asks for each scrape. */
  get distinctQueries(): Set<string> {
    return this.cloudwatch.distinctQueries;
  }
  /** The number of CloudWatch metrics served (ListMetrics entries over every namespace). */
  get metricCount(): number {
    return this.cloudwatch.metricCount;
  }

  /** Metric Streams' extra updates a minute for the statistics asked: one for every 5 extra statistics of a metric. */
  streamExtraUpdates(): number {
    return this.cloudwatch.streamExtraUpdates();
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    // The SDK opens up to 50 sockets per client; a fleet-scale run may hold many of them at once.
    this.server.maxConnections = 10_000;
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', 1024, resolve));
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  /** Zeroes `counts`, `throttled`, `metricsRequested`, `getMetricDataFirstPages`, `latestEndTime`, `peakInFlight`, `datapointsServed`, `extraStatistics` and `distinctQueries` (one benchmark cycle each). */
  resetCounts(): void {
    this.counts.clear();
    this.throttled.clear();
    this.peakInFlight = 0;
    this.cloudwatch.resetCounts();
  }

  /** An endpoint update (e.g. a new instance count): SageMaker moves its LastModifiedTime. */
  updateEndpoint(name: string, variants: FleetEndpoint['variants'], modifiedAt: number): void {
    this.sagemaker.updateEndpoint(name, variants, modifiedAt);
  }

  /**
   * An endpoint deleted at `deletedAtMs`: SageMaker no longer lists or describes it, and CloudWatch has no datapoint
   * for it from then on (its metrics stay listed, as ListMetrics keeps recently active ones).
   */
  deleteEndpoint(name: string, deletedAtMs: number): void {
    this.sagemaker.deleteEndpoint(name);
    this.cloudwatch.endpointDeleted(name, deletedAtMs);
    this.componentsAndTags.endpointDeleted(name);
  }

  /** An inference component deleted at `deletedAtMs`: no longer listed, and no CloudWatch datapoint from then on. */
  deleteInferenceComponent(name: string, deletedAtMs: number): void {
    this.componentsAndTags.deleteComponent(name);
    this.cloudwatch.componentDeleted(name, deletedAtMs);
  }


  /** The SDK environment that points CloudWatch and SageMaker clients here. */
  env(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_CLOUDWATCH: this.url,
      AWS_ENDPOINT_URL_SAGEMAKER: this.url,
      AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API: this.url,
      AWS_ACCESS_KEY_ID: 'AKIDSTANDIN',
      AWS_SECRET_ACCESS_KEY: 'stand-in-secret',
      AWS_REGION: 'us-east-2',
    };
  }







  /** CloudWatch revises (or, with undefined, withholds) one statistic of one period. */
  setValue(namespace: string, metricName: string, dimensions: readonly Dimension[], stat: string, periodStartMs: number, value: number | undefined): void {
    this.cloudwatch.setValue(namespace, metricName, dimensions, stat, periodStartMs, value);
  }

  /** True when `setValue` revised (or withheld) this statistic of this period. */
  isOverridden(namespace: string, metricName: string, dimensions: readonly Dimension[], stat: string, periodStartMs: number): boolean {
    return this.cloudwatch.isOverridden(namespace, metricName, dimensions, stat, periodStartMs);
  }

  clearValue(namespace: string, metricName: string, dimensions: readonly Dimension[], stat: string, periodStartMs: number): void {
    this.cloudwatch.clearValue(namespace, metricName, dimensions, stat, periodStartMs);
  }

  /** The value CloudWatch currently holds for a period (what the bridge should end up with), 60 s unless said. */
  valueAt(namespace: string, metricName: string, dimensions: readonly Dimension[], stat: string, periodStartMs: number, periodSeconds = 60): number | undefined {
    return this.cloudwatch.valueAt(namespace, metricName, dimensions, stat, periodStartMs, periodSeconds);
  }

  /** The raw values (ascending, CloudWatch's unit) a timing's statistics of one period are computed from; empty for other metrics. */
  rawValuesAt(namespace: string, metricName: string, dimensions: readonly Dimension[], periodStartMs: number): Float64Array {
    return this.cloudwatch.rawValuesAt(namespace, metricName, dimensions, periodStartMs);
  }

  /**
   * ListMetrics leaves this metric out (or, with `listed`, lists it again) while its datapoints go on: CloudWatch can
   * list a metric later than its first datapoints.
   */
  setListed(namespace: string, metricName: string, dimensions: readonly Dimension[], listed: boolean): void {
    this.cloudwatch.setListed(namespace, metricName, dimensions, listed);
  }

  /** The next `count` GetMetricData calls are refused with CloudWatch's throttling error. */
  throttleNext(count: number): void {
    this.throttleRemaining = count;
  }


  /** The next `count` GetMetricData calls fail with HTTP 500 InternalFailure, as CloudWatch does when it is broken. */
  failNext(count: number): void {
    this.failRemaining = count;
  }

  callsTo(action: string): RecordedCall[] {
    return this.calls.filter((c) => c.target.endsWith(`.${action}`));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const [service, action = ''] = target.split('.');
    this.requests += 1;
    this.counts.set(action, (this.counts.get(action) ?? 0) + 1);
    let body: Record<string, unknown>;
    try {
      body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      return this.answer(() => this.error(res, 400, 'SerializationException', 'body is not JSON', target));
    }
    if (this.recordBodies) this.calls.push({ target, body });
    if (this.overQuota(action) || (action === 'GetMetricData' && this.throttleRemaining > 0)) {
      if (action === 'GetMetricData' && this.throttleRemaining > 0) this.throttleRemaining -= 1;
      this.throttled.set(action, (this.throttled.get(action) ?? 0) + 1);
      return this.answer(() => this.error(res, 400, 'Throttling', 'Rate exceeded', target));
    }
    if (action === 'GetMetricData' && this.failRemaining > 0) {
      this.failRemaining -= 1;
      return this.answer(() => this.error(res, 500, 'InternalFailure', 'boom', target));
    }
    let send: () => void;
    try {
      send = this.dispatch(service, action, body, res, target);
    } catch (error) {
      const e = error as { code?: string; message: string };
      send = () => this.error(res, 400, e.code ?? 'ValidationError', e.message, target);
    }
    return this.answer(send);
  }

  /** The answer after the injected latency; other requests are served meanwhile. */
  private async answer(send: () => void): Promise<void> {
    this.inFlight += 1;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    this.inFlight -= 1;
    send();
  }

  /** True when `action` already had its quota of accepted calls in the last second; otherwise counts this one. */
  private overQuota(action: string): boolean {
    const limit = this.tpsLimits[action];
    if (limit === undefined) return false;
    const now = performance.now();
    const times = this.recent.get(action) ?? [];
    while (times.length > 0 && (times[0] as number) <= now - 1000) times.shift();
    this.recent.set(action, times);
    if (times.length >= limit) return true;
    times.push(now);
    return false;
  }

  private dispatch(service: string | undefined, action: string, body: Record<string, unknown>, res: ServerResponse, target: string): () => void {
    if (service === 'GraniteServiceVersion20100801') {
      if (action === 'ListMetrics') return this.replier(res, '1.0', this.cloudwatch.listMetrics(body));
      if (action === 'GetMetricData') return this.replier(res, '1.0', this.cloudwatch.getMetricData(body));
    }
    if (service === 'SageMaker') {
      if (action === 'ListEndpoints') return this.replier(res, '1.1', this.sagemaker.listEndpoints(body));
      if (action === 'DescribeEndpoint') return this.replier(res, '1.1', this.sagemaker.describeEndpoint(body));
      if (action === 'DescribeEndpointConfig') return this.replier(res, '1.1', this.sagemaker.describeEndpointConfig(body));
    }
    const payload = this.componentsAndTags.handle(service, action, body);
    if (payload !== undefined) return this.replier(res, '1.1', payload);
    return () => this.error(res, 400, 'UnknownOperationException', `stand-in does not implement ${target}`, target);
  }

  /** Serializes now (the work is done before the latency), sends later. */
  private replier(res: ServerResponse, version: '1.0' | '1.1', payload: unknown): () => void {
    // AWS JSON carries NaN and infinities as strings.
    const text = JSON.stringify(payload, (_key, value: unknown) =>
      typeof value === 'number' && !Number.isFinite(value) ? (Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity') : value,
    );
    const requestId = `req-${this.requests}`;
    return () => {
      res.writeHead(200, { 'content-type': `application/x-amz-json-${version}`, 'x-amzn-requestid': requestId });
      res.end(text);
    };
  }

  private error(res: ServerResponse, status: number, code: string, message: string, target: string): void {
    const version = target.startsWith('SageMaker.') || target.startsWith(`${TAGGING_TARGET_PREFIX}.`) ? '1.1' : '1.0';
    res.writeHead(status, {
      'content-type': `application/x-amz-json-${version}`,
      'x-amzn-requestid': `req-${this.requests}`,
      // CloudWatch is awsQueryCompatible: the SDK takes the error code from this header.
      'x-amzn-query-error': `${code};Sender`,
    });
    res.end(JSON.stringify({ __type: code, message }));
  }





}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for CloudWatch (AWS JSON 1.0, `GraniteServiceVersion20100801.`) and SageMaker
 * (AWS JSON 1.1, `SageMaker.`), serving deterministic synthetic inference traffic. The SDK reaches it
 * through the standard AWS_ENDPOINT_URL_CLOUDWATCH / AWS_ENDPOINT_URL_SAGEMAKER variables.
 */

export interface Dimension {
  readonly Name: string;
  readonly Value: string;
}

export interface FleetEndpoint {
  readonly name: string;
  readonly variants: ReadonlyArray<{ name: string; instanceType: string; instances: number; weight: number }>;
}

export interface FleetOptions {
  readonly endpoints: readonly FleetEndpoint[];
  /** Inf1 hosts publishing through neuron-monitor-cloudwatch.py. */
  readonly neuronHosts: ReadonlyArray<{ instanceId: string; instanceName: string; cores: number }>;
  readonly neuronNamespace: string;
}

interface MetricDef {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: readonly Dimension[];
  /** Value of a statistic at a period start (epoch seconds); undefined = no datapoint. */
  readonly value: (stat: string, periodStart: number) => number | undefined;
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Invocations per minute of one variant: a steady base with a wobble, always a whole number. */
export function invocationsAt(endpoint: string, variant: string, periodStart: number): number {
  return 50 + (hash(`${endpoint}/${variant}`) % 40) + ((periodStart / 60) % 7) * 3;
}

export const ODD_INSTANCE_NAME = 'gpu "pool" \\ 東京\nline2';

export function identity(namespace: string, metricName: string, dimensions: readonly Dimension[]): string {
  const dims = [...dimensions].sort((a, b) => a.Name.localeCompare(b.Name)).map((d) => `${d.Name}=${d.Value}`);
  return `${namespace}|${metricName}|${dims.join(',')}`;
}

export function defaultFleet(neuronNamespace = 'neuron_monitor', extraEndpoints = 0): FleetOptions {
  return {
    neuronNamespace,
    endpoints: [
      {
        name: 'churn-predictor',
        variants: [
          { name: 'blue', instanceType: 'ml.inf1.xlarge', instances: 2, weight: 0.9 },
          { name: 'green', instanceType: 'ml.inf1.2xlarge', instances: 1, weight: 0.1 },
        ],
      },
      { name: 'image-classifier', variants: [{ name: 'AllTraffic', instanceType: 'ml.g5.xlarge', instances: 3, weight: 1 }] },
      ...Array.from({ length: extraEndpoints }, (_, i) => ({
        name: `fleet-${String(i).padStart(3, '0')}`,
        variants: [{ name: 'AllTraffic', instanceType: 'ml.m5.large', instances: 1, weight: 1 }],
      })),
    ],
    neuronHosts: [{ instanceId: 'i-0823d657f57057590', instanceName: ODD_INSTANCE_NAME, cores: 4 }],
  };
}

function buildMetrics(fleet: FleetOptions): MetricDef[] {
  const metrics: MetricDef[] = [];
  for (const endpoint of fleet.endpoints) {
    for (const variant of endpoint.variants) {
      const dims = [
        { Name: 'EndpointName', Value: endpoint.name },
        { Name: 'VariantName', Value: variant.name },
      ];
      const invocations = (t: number) => invocationsAt(endpoint.name, variant.name, t);
      const counter = (metricName: string, fn: (t: number) => number | undefined) =>
        metrics.push({ namespace: 'AWS/SageMaker', metricName, dimensions: dims, value: (stat, t) => (stat === 'Sum' ? fn(t) : undefined) });
      counter('Invocations', invocations);
      counter('Invocation4XXErrors', (t) => (t / 60) % 3);
      // 5XX errors are rare: CloudWatch has no datapoint at all in most periods.
      counter('Invocation5XXErrors', (t) => ((t / 60) % 5 === 0 ? 1 : undefined));
      counter('InvocationModelErrors', () => 0);
      counter('InvocationsPerInstance', (t) => invocations(t) / variant.instances);
      for (const [metricName, meanUs] of [
        ['ModelLatency', 12000 + (hash(endpoint.name) % 5000)],
        ['OverheadLatency', 800],
      ] as const) {
        metrics.push({
          namespace: 'AWS/SageMaker',
          metricName,
          dimensions: dims,
          value: (stat, t) => {
            const n = invocations(t);
            if (stat === 'Sum') return n * meanUs;
            if (stat === 'SampleCount') return n;
            if (stat === 'Average') return meanUs;
            const p = /^p(\d+(?:\.\d+)?)$/.exec(stat);
            return p ? meanUs * (0.5 + Number(p[1]) / 100) : undefined;
          },
        });
      }
      for (const [metricName, base] of [
        ['CPUUtilization', 180],
        ['MemoryUtilization', 42],
        ['DiskUtilization', 12],
      ] as const) {
        metrics.push({
          namespace: '/aws/sagemaker/Endpoints',
          metricName,
          dimensions: dims,
          value: (stat, t) => (stat === 'Average' ? base + ((t / 60) % 4) : undefined),
        });
      }
      metrics.push({ namespace: '/aws/sagemaker/Endpoints', metricName: 'LoadedModelCount', dimensions: dims, value: (stat) => (stat === 'Maximum' ? 1 : undefined) });
    }
  }
  // A metric the catalog does not know: it gets the generic aws_<namespace>_<metric>_<stat> name.
  const first = fleet.endpoints[0];
  if (first) {
    metrics.push({
      namespace: 'AWS/SageMaker',
      metricName: 'ModelSetupTime',
      dimensions: [
        { Name: 'EndpointName', Value: first.name },
        { Name: 'VariantName', Value: first.variants[0]?.name ?? 'AllTraffic' },
      ],
      value: (stat) => (stat === 'Average' ? 1500 : undefined),
    });
  }
  for (const host of fleet.neuronHosts) {
    const hostDims = [
      { Name: 'InstanceId', Value: host.instanceId },
      { Name: 'InstanceName', Value: host.instanceName },
    ];
    for (let core = 0; core < host.cores; core++) {
      metrics.push({
        namespace: fleet.neuronNamespace,
        metricName: 'NeuronCoreUtilization',
        dimensions: [...hostDims, { Name: 'NeuronCore', Value: String(core) }],
        value: (stat, t) => (stat === 'Average' ? (core === 0 ? 86 + ((t / 60) % 5) : 0) : undefined),
      });
    }
    for (const errorType of ['generic', 'numerical', 'transient', 'model', 'runtime', 'hardware']) {
      metrics.push({
        namespace: fleet.neuronNamespace,
        metricName: 'ExecutionErrors',
        dimensions: [...hostDims, { Name: 'ErrorType', Value: errorType }],
        value: (stat, t) => (stat === 'Sum' ? (errorType === 'transient' && (t / 60) % 4 === 0 ? 2 : 0) : undefined),
      });
    }
    for (const statusType of ['completed', 'completed_with_err', 'timed_out']) {
      metrics.push({
        namespace: fleet.neuronNamespace,
        metricName: 'ExecutionStatus',
        dimensions: [...hostDims, { Name: 'StatusType', Value: statusType }],
        value: (stat, t) => (stat === 'Sum' ? (statusType === 'completed' ? 2900 + ((t / 60) % 9) * 10 : 0) : undefined),
      });
    }
    for (const [location, bytes] of [
      ['host', 1127288832],
      ['neuron_device', 63118912],
    ] as const) {
      metrics.push({
        namespace: fleet.neuronNamespace,
        metricName: 'NeuronRuntimeMemoryUsed',
        dimensions: [...hostDims, { Name: 'MemoryLocation', Value: location }],
        value: (stat) => (stat === 'Average' ? bytes : undefined),
      });
    }
    for (const [usageType, percent] of [
      ['user', 27.98],
      ['system', 2.93],
    ] as const) {
      metrics.push({
        namespace: fleet.neuronNamespace,
        metricName: 'SystemVcpuUsage',
        dimensions: [{ Name: 'InstanceId', Value: host.instanceId }, { Name: 'UsageType', Value: usageType }],
        value: (stat) => (stat === 'Average' ? percent : undefined),
      });
    }
    metrics.push({
      namespace: fleet.neuronNamespace,
      metricName: 'ExecutionLatency',
      dimensions: [...hostDims, { Name: 'Percentile', Value: 'p50' }],
      // One period CloudWatch reports as NaN: the bridge must drop it, not write it.
      value: (stat, t) => (stat === 'Average' ? ((t / 60) % 11 === 0 ? NaN : 0.0033) : undefined),
    });
    // Over-long dimension value: the label is cut, with a hash to keep it distinct.
    metrics.push({
      namespace: fleet.neuronNamespace,
      metricName: 'SystemMemoryUsed',
      dimensions: [{ Name: 'InstanceId', Value: host.instanceId }, { Name: 'ModelPath', Value: `/opt/models/${'x'.repeat(1500)}` }],
      value: (stat) => (stat === 'Average' ? 7090806784 : undefined),
    });
  }
  return metrics;
}

export interface RecordedCall {
  readonly target: string;
  readonly body: Record<string, unknown>;
}

export class AwsStandIn {
  readonly calls: RecordedCall[] = [];
  private readonly metrics: MetricDef[];
  private readonly byIdentity: Map<string, MetricDef>;
  private readonly overrides = new Map<string, Map<number, number | undefined>>();
  private server: Server | undefined;
  private throttleRemaining = 0;
  /** Small pages force NextToken, as CloudWatch does past 100,800 datapoints. */
  datapointsPerPage = 100_800;
  listMetricsPageSize = 500;

  constructor(readonly fleet: FleetOptions) {
    this.metrics = buildMetrics(fleet);
    this.byIdentity = new Map(this.metrics.map((m) => [identity(m.namespace, m.metricName, m.dimensions), m]));
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The SDK environment that points CloudWatch and SageMaker clients here. */
  env(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_CLOUDWATCH: this.url,
      AWS_ENDPOINT_URL_SAGEMAKER: this.url,
      AWS_ACCESS_KEY_ID: 'AKIDSTANDIN',
      AWS_SECRET_ACCESS_KEY: 'stand-in-secret',
      AWS_REGION: 'us-east-2',
    };
  }

  /** CloudWatch revises (or, with undefined, withholds) one statistic of one period. */
  setValue(namespace: string, metricName: string, dimensions: readonly Dimension[], stat: string, periodStartMs: number, value: number | undefined): void {
    const key = `${identity(namespace, metricName, dimensions)}|${stat}`;
    const map = this.overrides.get(key) ?? new Map<number, number | undefined>();
    map.set(periodStartMs / 1000, value);
    this.overrides.set(key, map);
  }

  clearValue(namespace: string, metricName: string, dimensions: readonly Dimension[], stat: string, periodStartMs: number): void {
    this.overrides.get(`${identity(namespace, metricName, dimensions)}|${stat}`)?.delete(periodStartMs / 1000);
  }

  /** The value CloudWatch currently holds (what the bridge should end up with). */
  valueAt(namespace: string, metricName: string, dimensions: readonly Dimension[], stat: string, periodStartMs: number): number | undefined {
    const id = identity(namespace, metricName, dimensions);
    const metric = this.byIdentity.get(id);
    if (!metric) return undefined;
    const override = this.overrides.get(`${id}|${stat}`);
    const t = periodStartMs / 1000;
    return override?.has(t) ? override.get(t) : metric.value(stat, t);
  }

  /** The next `count` GetMetricData calls are refused with CloudWatch's throttling error. */
  throttleNext(count: number): void {
    this.throttleRemaining = count;
  }

  callsTo(action: string): RecordedCall[] {
    return this.calls.filter((c) => c.target.endsWith(`.${action}`));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    let body: Record<string, unknown>;
    try {
      body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      return this.error(res, 400, 'SerializationException', 'body is not JSON', target);
    }
    this.calls.push({ target, body });
    const [service, action] = target.split('.');
    try {
      if (service === 'GraniteServiceVersion20100801') {
        if (action === 'ListMetrics') return this.reply(res, '1.0', this.listMetrics(body));
        if (action === 'GetMetricData') {
          if (this.throttleRemaining > 0) {
            this.throttleRemaining -= 1;
            return this.error(res, 400, 'Throttling', 'Rate exceeded', target);
          }
          return this.reply(res, '1.0', this.getMetricData(body));
        }
      }
      if (service === 'SageMaker') {
        if (action === 'ListEndpoints') return this.reply(res, '1.1', this.listEndpoints(body));
        if (action === 'DescribeEndpoint') return this.reply(res, '1.1', this.describeEndpoint(body));
        if (action === 'DescribeEndpointConfig') return this.reply(res, '1.1', this.describeEndpointConfig(body));
      }
      return this.error(res, 400, 'UnknownOperationException', `stand-in does not implement ${target}`, target);
    } catch (error) {
      const e = error as { code?: string; message: string };
      return this.error(res, 400, e.code ?? 'ValidationError', e.message, target);
    }
  }

  private reply(res: ServerResponse, version: '1.0' | '1.1', payload: unknown): void {
    // AWS JSON carries NaN and infinities as strings.
    const text = JSON.stringify(payload, (_key, value: unknown) =>
      typeof value === 'number' && !Number.isFinite(value) ? (Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity') : value,
    );
    res.writeHead(200, { 'content-type': `application/x-amz-json-${version}`, 'x-amzn-requestid': `req-${this.calls.length}` });
    res.end(text);
  }

  private error(res: ServerResponse, status: number, code: string, message: string, target: string): void {
    const version = target.startsWith('SageMaker.') ? '1.1' : '1.0';
    res.writeHead(status, {
      'content-type': `application/x-amz-json-${version}`,
      'x-amzn-requestid': `req-${this.calls.length}`,
      // CloudWatch is awsQueryCompatible: the SDK takes the error code from this header.
      'x-amzn-query-error': `${code};Sender`,
    });
    res.end(JSON.stringify({ __type: code, message }));
  }

  private listMetrics(body: Record<string, unknown>): unknown {
    const matching = this.metrics.filter((m) => m.namespace === body.Namespace);
    const offset = body.NextToken ? Number(Buffer.from(String(body.NextToken), 'base64').toString()) : 0;
    const page = matching.slice(offset, offset + this.listMetricsPageSize);
    const next = offset + page.length < matching.length ? Buffer.from(String(offset + page.length)).toString('base64') : undefined;
    return {
      Metrics: page.map((m) => ({ Namespace: m.namespace, MetricName: m.metricName, Dimensions: m.dimensions })),
      ...(next ? { NextToken: next } : {}),
    };
  }

  private getMetricData(body: Record<string, unknown>): unknown {
    const queries = body.MetricDataQueries as Array<{ Id: string; MetricStat: { Metric: { Namespace: string; MetricName: string; Dimensions?: Dimension[] }; Period: number; Stat: string } }>;
    if (!Array.isArray(queries) || queries.length === 0) throw Object.assign(new Error('MetricDataQueries is required'), { code: 'ValidationError' });
    if (queries.length > 500) throw Object.assign(new Error('The collection MetricDataQueries must not have a size greater than 500.'), { code: 'ValidationError' });
    const start = Number(body.StartTime);
    const end = Number(body.EndTime);
    if (body.ScanBy !== 'TimestampAscending') throw Object.assign(new Error('stand-in expects ScanBy TimestampAscending'), { code: 'ValidationError' });
    const all = queries.map((q) => {
      const period = q.MetricStat.Period;
      const timestamps: number[] = [];
      const values: number[] = [];
      for (let t = Math.ceil(start / period) * period; t < end; t += period) {
        const v = this.valueAt(q.MetricStat.Metric.Namespace, q.MetricStat.Metric.MetricName, q.MetricStat.Metric.Dimensions ?? [], q.MetricStat.Stat, t * 1000);
        if (v !== undefined) {
          timestamps.push(t);
          values.push(v);
        }
      }
      return { Id: q.Id, timestamps, values };
    });
    // Datapoints are paged across all queries in order; a query cut by a page boundary continues on the next page.
    const offset = body.NextToken ? Number(Buffer.from(String(body.NextToken), 'base64').toString()) : 0;
    let skipped = 0;
    let room = this.datapointsPerPage;
    const results = all.map((r) => {
      const from = Math.max(0, Math.min(r.timestamps.length, offset - skipped));
      skipped += r.timestamps.length;
      const take = Math.max(0, Math.min(room, r.timestamps.length - from));
      room -= take;
      const complete = from + take === r.timestamps.length;
      return {
        Id: r.Id,
        Label: r.Id,
        Timestamps: r.timestamps.slice(from, from + take),
        Values: r.values.slice(from, from + take),
        StatusCode: complete ? 'Complete' : 'PartialData',
      };
    });
    const served = offset + (this.datapointsPerPage - room);
    const total = all.reduce((n, r) => n + r.timestamps.length, 0);
    return {
      MetricDataResults: results,
      Messages: [],
      ...(served < total ? { NextToken: Buffer.from(String(served)).toString('base64') } : {}),
    };
  }

  private listEndpoints(_body: Record<string, unknown>): unknown {
    return {
      Endpoints: this.fleet.endpoints.map((e) => ({
        EndpointName: e.name,
        EndpointArn: `arn:aws:sagemaker:us-east-2:123456789012:endpoint/${e.name}`,
        CreationTime: 1700000000,
        LastModifiedTime: 1700000000,
        EndpointStatus: 'InService',
      })),
    };
  }

  private describeEndpoint(body: Record<string, unknown>): unknown {
    const endpoint = this.fleet.endpoints.find((e) => e.name === body.EndpointName);
    if (!endpoint) throw Object.assign(new Error(`Could not find endpoint "${String(body.EndpointName)}".`), { code: 'ValidationException' });
    return {
      EndpointName: endpoint.name,
      EndpointArn: `arn:aws:sagemaker:us-east-2:123456789012:endpoint/${endpoint.name}`,
      EndpointConfigName: `${endpoint.name}-config`,
      EndpointStatus: 'InService',
      CreationTime: 1700000000,
      LastModifiedTime: 1700000000,
      ProductionVariants: endpoint.variants.map((v) => ({
        VariantName: v.name,
        CurrentWeight: v.weight,
        DesiredWeight: v.weight,
        CurrentInstanceCount: v.instances,
        DesiredInstanceCount: v.instances,
      })),
    };
  }

  private describeEndpointConfig(body: Record<string, unknown>): unknown {
    const endpoint = this.fleet.endpoints.find((e) => `${e.name}-config` === body.EndpointConfigName);
    if (!endpoint) throw Object.assign(new Error(`Could not find endpoint configuration "${String(body.EndpointConfigName)}".`), { code: 'ValidationException' });
    return {
      EndpointConfigName: `${endpoint.name}-config`,
      EndpointConfigArn: `arn:aws:sagemaker:us-east-2:123456789012:endpoint-config/${endpoint.name}-config`,
      CreationTime: 1700000000,
      ProductionVariants: endpoint.variants.map((v) => ({ VariantName: v.name, ModelName: `${endpoint.name}-model`, InstanceType: v.instanceType, InitialInstanceCount: v.instances })),
    };
  }
}

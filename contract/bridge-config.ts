import { getHeapStatistics } from 'node:v8';
import { z } from 'zod';
import { CatalogNamespaceSchema } from './catalog-schema';
import { ConfigError } from './errors';
import { DEFAULT_LATENCY_MODE, LATENCY_MODES } from './latency';
import { tagLabelName } from './naming';

/** GetMetricData calls a shard starts a second unless `getMetricDataTps` says: half CloudWatch's default quota of 50 a Region. */
export const DEFAULT_GET_METRIC_DATA_TPS = 25;

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Durations are whole seconds, or Prometheus-style strings such as `90s`, `2m`, `1h`. */
const Duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) {
      ctx.addIssue({ code: 'custom', message: `must be a whole number of seconds (got ${value})` });
      return z.NEVER;
    }
    return value;
  }
  const match = /^(-?\d+)([smhd])$/.exec(value.trim());
  if (!match) {
    ctx.addIssue({ code: 'custom', message: `must be seconds or a duration like "90s", "2m", "1h" (got "${value}")` });
    return z.NEVER;
  }
  return Number(match[1]) * (DURATION_UNITS[match[2] as string] as number);
});

const NonNegativeDuration = Duration.refine((s) => s >= 0, { message: 'must not be negative' });
const PositiveDuration = Duration.refine((s) => s > 0, { message: 'must be greater than zero' });

/** A class read this seldom would read periods the receiver refuses: its gauges would be lost, not late. */
function checkReadIntervals(
  config: { readIntervals: Record<string, number>; revisionWindow: number; settle: number; period: number; remoteWrite: { maxSampleAge: number } },
  ctx: z.RefinementCtx,
): void {
  for (const [name, interval] of Object.entries(config.readIntervals)) {
    const oldest = interval + config.revisionWindow + config.settle + config.period;
    if (oldest < config.remoteWrite.maxSampleAge) continue;
    ctx.addIssue({
      code: 'custom',
      path: ['readIntervals', name],
      message: `${interval}s plus revisionWindow, settle and period (${oldest}s) must stay under remoteWrite.maxSampleAge (${config.remoteWrite.maxSampleAge}s): a class read less often would reach periods the receiver no longer accepts`,
    });
  }
}

/** CloudWatch accepts 1, 5, 10, 30 (high resolution) or any multiple of 60 seconds. */
const isValidPeriod = (s: number) => [1, 5, 10, 30].includes(s) || (s > 0 && s % 60 === 0);
const Period = Duration.refine(isValidPeriod, {
  message: 'must be 1, 5, 10, 30 or a multiple of 60 seconds (CloudWatch periods)',
});

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/**
 * A URL would carry its credentials into every log line and error that quotes it, and into the Lambda's
 * environment: they belong in `remoteWrite.auth`, whose secrets can come from the environment.
 */
export const HttpUrl = z
  .string()
  .refine(
    (value) => {
      const url = parseUrl(value);
      return url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:');
    },
    { message: 'must be an absolute http(s) URL' },
  )
  .refine(
    (value) => {
      const url = parseUrl(value);
      return url === undefined || (url.username === '' && url.password === '');
    },
    {
      message:
        'must not contain credentials (user:password@): put them in "remoteWrite.auth" instead, { type: basic, username, passwordEnv } or { type: bearer, tokenEnv }',
      abort: true,
    },
  );

/** AMP's documented id pattern, narrowed to what AMP hands out (`ws-` and a UUID-like tail). */
export const WorkspaceId = z.string().regex(/^ws-[0-9A-Za-z][-.0-9A-Za-z_]{0,60}$/, 'must be an AMP workspace id such as ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789');

const AuthSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  z
    .object({
      type: z.literal('sigv4'),
      /** @default the region in the AMP URL, else `region` */
      region: z.string().min(1).optional(),
      /** @default "aps" */
      service: z.string().min(1).default('aps'),
      /** A writer role in the monitoring account, assumed for the remote write. @default the bridge's own credentials */
      roleArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN').optional(),
      /** @default none */
      externalId: z.string().min(2).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('basic'),
      username: z.string().min(1),
      password: z.string().optional(),
      passwordEnv: z.string().min(1).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('bearer'),
      token: z.string().min(1).optional(),
      tokenEnv: z.string().min(1).optional(),
    })
    .strict(),
]);

/** Tag labels ride on every `_info` series; AMP allows 70 labels a series. */
const MAX_ENDPOINT_TAGS = 20;

const StateSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('file'), directory: z.string().min(1) }).strict(),
  z.object({ type: z.literal('s3'), bucket: z.string().min(3), key: z.string().min(1).default('inferwatch/bridge-state.json') }).strict(),
]);

export const BridgeConfigSchema = z
  .object({
    /** AWS region read from. @default AWS_REGION, else us-east-1 */
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1').optional(),
    /** The account label on every series. @default the Lambda's account, else no label */
    accountId: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id').optional(),
    /** CloudWatch period, seconds. @default 60 */
    period: Period.default(60),
    /** Wait this long after a period ends before forwarding it. @default 120 */
    settle: NonNegativeDuration.default(120),
    /** How far back the first cycle starts. @default 900 */
    initialLookback: PositiveDuration.default(900),
    /** Periods re-read behind the high-water mark each cycle to catch CloudWatch revisions. @default 600 */
    revisionWindow: NonNegativeDuration.default(600),
    /** Largest span one cycle forwards; older periods wait for the next cycle. @default 3600 */
    maxCycleSpan: PositiveDuration.default(3600),
    /** CloudWatch namespaces read. @default the three inference namespaces */
    namespaces: z.array(z.string().min(1)).min(1).optional(),
    /** The namespace neuron-monitor-cloudwatch.py publishes to (its --namespace). @default "neuron_monitor" */
    neuronNamespace: z.string().min(1).default('neuron_monitor'),
    /** Extra or overriding catalog entries, merged over the built-in catalog. @default [] */
    catalog: z.array(CatalogNamespaceSchema).default([]),
    /** `inferwatch` (Prometheus conventions) or `yace` (yet-another-cloudwatch-exporter names). @default "inferwatch" */
    namingProfile: z.enum(['inferwatch', 'yace']).default('inferwatch'),
    /** Latency as `summary`, `histogram` or `both`: see LATENCY_MODES and the README's accuracy and cost tables. @default "histogram" */
    latency: z.enum(LATENCY_MODES).default(DEFAULT_LATENCY_MODE),
    /**
     * Read the catalog's high-resolution metrics (those with a `resolution`, such as ConcurrentRequestsPerModel and
     * ConcurrentRequestsPerCopy every 10 s) at their own period instead of `period`. The same metrics are requested
     * (the same GetMetricData bill); each writes `period / resolution` times the samples. @default false
     */
    highResolution: z.boolean().default(false),
    /**
     * How variants without traffic are read. `sentinel`: a variant whose last read showed no invocations is read
     * through one query (`Invocations` `SampleCount`) until it shows traffic, then in full from the first period not
     * read in full; SageMaker publishes its invocation, error and latency metrics only for periods with traffic, so
     * nothing is missed. `read`: every metric every cycle. Instance metrics (`/aws/sagemaker/Endpoints`) are read
     * either way. @default "sentinel"
     */
    idleVariants: z.enum(['sentinel', 'read']).default('sentinel'),
    /**
     * How often each class of metric is read, seconds; 0 reads it every cycle. GetMetricData bills a metric per read,
     * whatever its window, so a class read every 10 minutes over ten 1-minute periods costs half of one read every 5
     * minutes, at the same resolution. `counters`: invocation and error counters, which the fast alerts read;
     * `latency`: latency timings (histograms, summaries); `utilization`: instance metrics (`/aws/sagemaker/Endpoints`,
     * `/aws/sagemaker/InferenceComponents`); `other`: everything else. A class is read in a cycle when waiting for
     * the next one would leave its newest period older than its interval. @default counters 0, latency 600, utilization 600, other 0
     */
    readIntervals: z
      .object({
        counters: NonNegativeDuration.default(0),
        latency: NonNegativeDuration.default(600),
        utilization: NonNegativeDuration.default(600),
        other: NonNegativeDuration.default(0),
      })
      .strict()
      .default({ counters: 0, latency: 600, utilization: 600, other: 0 }),
    /** Emit endpoint metadata series from the SageMaker API. @default true */
    sagemakerMetadata: z.boolean().default(true),
    /**
     * Tag keys of SageMaker endpoints and inference components that become labels on their `_info` series, named
     * `tag_` and the key with characters other than letters, digits and `_` as `_` (`cost-center` -> `tag_cost_center`).
     * Read with tag:GetResources, one call per 100 resources. @default [] (no tags read)
     */
    endpointTags: z
      .array(
        z
          .string()
          .min(1)
          .max(128)
          .regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u, 'must be an AWS tag key: letters, digits, spaces and _ . : / = + - @, at most 128 characters'),
      )
      .max(MAX_ENDPOINT_TAGS, `at most ${MAX_ENDPOINT_TAGS} tag keys: each is a label on every _info series`)
      .default([]),
    /** Tags read longer ago than this are read again (a tag change shows within it). @default 3600 */
    endpointTagsRefresh: PositiveDuration.default(3600),
    /** How long ListMetrics results are reused by warm invocations. @default 600 */
    discoveryInterval: NonNegativeDuration.default(600),
    /** Label values longer than this are cut (with a hash suffix, so they stay distinct). @default 1024 */
    maxLabelValueLength: z.number().int().min(16).default(1024),
    remoteWrite: z
      .object({
        /** Remote-write URL: an AMP workspace's `.../api/v1/remote_write`, or any receiver. Give this or `workspaceId`. */
        url: HttpUrl.optional(),
        /**
         * An AMP workspace id (`ws-…`): its endpoint and status come from DescribeWorkspace at start, in the region of
         * `auth.region` (else `region`). Give this or `url`.
         */
        workspaceId: WorkspaceId.optional(),
        /**
         * The receiver's query endpoint, asked after a loss of state where each series stands.
         * @default derived from the remote-write URL (`.../api/v1/remote_write` or `.../api/v1/write` -> `.../api/v1/query`)
         */
        queryUrl: HttpUrl.optional(),
        /** @default sigv4 for AMP URLs and workspace ids, none otherwise */
        auth: AuthSchema.optional(),
        /** @default 2000 */
        maxSamplesPerRequest: z.number().int().min(1).max(100000).default(2000),
        /** Per-request timeout, seconds. @default 10 */
        timeout: PositiveDuration.default(10),
        /** @default 6 */
        maxAttempts: z.number().int().min(1).max(20).default(6),
        /**
         * Samples older than this (before now) are not sent: receivers refuse them (Prometheus 2.x about an hour
         * behind its newest sample, AMP about an hour). Counters carry their sums on. @default 3000 (50 minutes)
         */
        maxSampleAge: PositiveDuration.default(3000),
      })
      .strict()
      .default({ maxSamplesPerRequest: 2000, timeout: 10, maxAttempts: 6, maxSampleAge: 3000 }),
    /** @default a local directory `.inferwatch/state` */
    state: StateSchema.default({ type: 'file', directory: '.inferwatch/state' }),
    /** GetMetricData calls (and remote-write requests) in flight at once. @default 4 */
    concurrency: z.number().int().min(1).max(64).default(4),
    /** GetMetricData calls started per second, below the default quota of 50 a region. @default 25 */
    getMetricDataTps: z.number().positive().max(1000).default(DEFAULT_GET_METRIC_DATA_TPS),
    /** SageMaker calls started per second. @default 20 */
    sagemakerTps: z.number().positive().max(1000).default(20),
    /** SageMaker Describe calls one cycle may make (new and changed endpoints first; the rest follow). @default 1000 */
    sagemakerMaxDescribes: z.number().int().min(2).default(1000),
    /** An endpoint whose LastModifiedTime and status did not change is described again after this long. @default 21600 (6 h) */
    sagemakerRefresh: PositiveDuration.default(21600),
    /** The most samples one cycle forwards; after an outage, several cycles catch up. @default from the memory available (see README) */
    maxSamplesPerCycle: z.number().int().min(1).optional(),
    /**
     * SageMaker AI detailed observability (OTel metrics: vLLM, DCGM, node, placement), read through CloudWatch's
     * PromQL API beside GetMetricData (docs/promql-source.md). @default on: one GetLabels call a discovery finds
     * whether the account has any of them, and the source reads nothing when it has none
     */
    promql: z
      .object({
        /** Read the detailed-observability metrics where the account has them; false: no PromQL call at all. @default true */
        enabled: z.boolean().default(true),
        /** The PromQL host. @default https://monitoring.<region>.amazonaws.com (.com.cn in China regions) */
        endpoint: HttpUrl.optional(),
        /** PromQL requests started per second, under the per-account TPS quota. @default 5 */
        tps: z.number().positive().max(100).default(5),
        /** PromQL requests in flight at once, under the per-account concurrency quota. @default 2 */
        concurrency: z.number().int().min(1).max(16).default(2),
        /** Series per query_range, at most the API's 500: larger selections are split by label. @default 500 */
        maxSeriesPerQuery: z.number().int().min(1).max(500).default(500),
        /** How long a GetSeries listing is reused by warm invocations. @default 600 */
        discoveryInterval: NonNegativeDuration.default(600),
      })
      .strict()
      .default({ enabled: true, tps: 5, concurrency: 2, maxSeriesPerQuery: 500, discoveryInterval: 600 }),
    /** This bridge's slice of a large fleet: endpoints by a stable hash of their name. @default one shard */
    shard: z
      .object({ index: z.number().int().min(0), count: z.number().int().min(1).max(1000) })
      .strict()
      .refine((shard) => shard.index < shard.count, { message: 'index must be below count', path: ['index'] })
      .default({ index: 0, count: 1 }),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (!isValidPeriod(config.period)) return;
    if (config.revisionWindow % config.period !== 0) {
      ctx.addIssue({ code: 'custom', path: ['revisionWindow'], message: `must be a multiple of period (${config.period}s)` });
    }
    if (config.maxCycleSpan < config.period) {
      ctx.addIssue({ code: 'custom', path: ['maxCycleSpan'], message: `must be at least one period (${config.period}s)` });
    }
    if (config.endpointTags.length > 0 && !config.sagemakerMetadata) {
      ctx.addIssue({ code: 'custom', path: ['endpointTags'], message: 'needs "sagemakerMetadata": true: the tags are labels on the metadata _info series (or leave endpointTags out)' });
    }
    const labelOf = new Map<string, string>();
    config.endpointTags.forEach((key, index) => {
      const label = tagLabelName(key);
      const other = labelOf.get(label);
      if (other !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['endpointTags', index], message: `"${key}" and "${other}" both become the label ${label}: keep one of them` });
      }
      labelOf.set(label, key);
    });
    if (config.remoteWrite.url !== undefined && config.remoteWrite.workspaceId !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['remoteWrite'],
        message: 'give "remoteWrite.url" or "remoteWrite.workspaceId", not both (the workspace id resolves to its own remote-write URL)',
      });
    }
    const auth = config.remoteWrite.auth;
    if (config.remoteWrite.workspaceId !== undefined && auth !== undefined && auth.type !== 'sigv4') {
      ctx.addIssue({ code: 'custom', path: ['remoteWrite', 'auth', 'type'], message: `must be sigv4 with "remoteWrite.workspaceId": AMP accepts only SigV4 (got ${auth.type})` });
    }
    if (auth?.type === 'basic' && (auth.password === undefined) === (auth.passwordEnv === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['remoteWrite', 'auth'], message: 'basic auth needs exactly one of password or passwordEnv' });
    }
    if (auth?.type === 'bearer' && (auth.token === undefined) === (auth.tokenEnv === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['remoteWrite', 'auth'], message: 'bearer auth needs exactly one of token or tokenEnv' });
    }
  })
  .superRefine(checkReadIntervals);

export type BridgeConfigInput = z.input<typeof BridgeConfigSchema>;
type ParsedConfig = z.output<typeof BridgeConfigSchema>;

/** The validated configuration with everything resolved: defaults, region, namespaces. */
export interface BridgeConfig extends Omit<ParsedConfig, 'region' | 'namespaces' | 'maxSamplesPerCycle'> {
  readonly region: string;
  readonly namespaces: string[];
  readonly maxSamplesPerCycle: number;
}

/**
 * Samples one cycle forwards when `maxSamplesPerCycle` is not set: 10,000 per MiB of memory (the Lambda's, else
 * the V8 heap limit), between 1 and 10 million. Memory does not grow with it (the cycle streams); it bounds how
 * long one cycle runs, about 1 s per 500,000 samples on one vCPU.
 */
export function defaultSampleBudget(env: NodeJS.ProcessEnv, heapLimitBytes: number): number {
  const lambdaMiB = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  const mib = Number.isFinite(lambdaMiB) && lambdaMiB > 0 ? lambdaMiB : heapLimitBytes / 2 ** 20;
  return Math.round(Math.min(10_000_000, Math.max(1_000_000, mib * 10_000)));
}

export const DEFAULT_NAMESPACES = ['AWS/SageMaker', '/aws/sagemaker/Endpoints', '/aws/sagemaker/InferenceComponents'];

/** `prefix` places the keys inside a larger file, e.g. `workloads[0].bridge.config.`. */
function formatIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((issue) => {
      const key = issue.path.length > 0 ? `${prefix}${issue.path.join('.')}` : prefix ? prefix.replace(/\.$/, '') : '(top level)';
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((k) => (issue.path.length > 0 ? `${key}.${k}` : `${prefix}${k}`));
        return `unknown config key ${keys.map((k) => `"${k}"`).join(', ')}`;
      }
      return `config key "${key}": ${issue.message}`;
    })
    .join('; ');
}

/** Keys the CloudWatchBridge construct sets itself: a user config must leave them out. */
export const BRIDGE_KEYS_SET_BY_CONSTRUCT = ['remoteWrite', 'state', 'shard'] as const;

/**
 * Validates bridge configuration that sits inside another file (the CDK rollout config's
 * `workloads[i].bridge.config`): errors name the whole key, `prefix` included.
 */
export function checkBridgeConfig(raw: unknown, prefix: string): void {
  const parsed = BridgeConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error, prefix));
  checkNeuronNamespace(raw as Record<string, unknown> | undefined, parsed.data, prefix);
}

/** Naming a Neuron namespace and then not reading it would drop every Neuron metric without a word. */
function checkNeuronNamespace(input: Record<string, unknown> | undefined, config: ParsedConfig, prefix = ''): void {
  if (input?.neuronNamespace === undefined || config.namespaces === undefined || config.namespaces.includes(config.neuronNamespace)) return;
  throw new ConfigError(
    `config key "${prefix}namespaces" must include the "${prefix}neuronNamespace" (${config.neuronNamespace}), or leave "${prefix}neuronNamespace" out: its metrics are read only from a listed namespace`,
  );
}

/**
 * Validates raw configuration (from a file, JSON or code) and resolves defaults.
 * Environment: AWS_REGION, INFERWATCH_REMOTE_WRITE_URL, INFERWATCH_STATE_BUCKET / INFERWATCH_STATE_KEY,
 * INFERWATCH_STATE_DIR fill in what the config leaves out.
 */
export function resolveConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): BridgeConfig {
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) throw new ConfigError('config must be a mapping of keys to values');
  const input = { ...(raw as Record<string, unknown> | undefined) };
  const remoteWrite = { ...(input.remoteWrite as Record<string, unknown> | undefined) };
  if (remoteWrite.url === undefined && remoteWrite.workspaceId === undefined && env.INFERWATCH_REMOTE_WRITE_URL) remoteWrite.url = env.INFERWATCH_REMOTE_WRITE_URL;
  if (Object.keys(remoteWrite).length > 0) input.remoteWrite = remoteWrite;
  if (input.state === undefined && env.INFERWATCH_STATE_BUCKET) {
    input.state = { type: 's3', bucket: env.INFERWATCH_STATE_BUCKET, ...(env.INFERWATCH_STATE_KEY ? { key: env.INFERWATCH_STATE_KEY } : {}) };
  } else if (input.state === undefined && env.INFERWATCH_STATE_DIR) {
    input.state = { type: 'file', directory: env.INFERWATCH_STATE_DIR };
  }

  const parsed = BridgeConfigSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error));
  const config = parsed.data;
  const region = config.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  checkNeuronNamespace(input, config);
  const namespaces = config.namespaces ?? [...DEFAULT_NAMESPACES, config.neuronNamespace];
  const maxSamplesPerCycle = config.maxSamplesPerCycle ?? defaultSampleBudget(env, getHeapStatistics().heap_size_limit);
  return { ...config, region, namespaces, maxSamplesPerCycle };
}

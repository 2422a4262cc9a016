import { createHash } from 'node:crypto';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** `CPUUtilization` -> `cpu_utilization`, `Invocation4XXErrors` -> `invocation_4xx_errors`. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .replace(/([a-z])([0-9]+[A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([0-9])([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/**
 * yet-another-cloudwatch-exporter's conversion: underscores only between a lower-case letter and an
 * upper-case one, so `CPUUtilization` -> `cpuutilization` and `ModelLatency` -> `model_latency`.
 */
export function yaceSnakeCase(name: string): string {
  return name
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** Makes any string a legal label or metric-name fragment: illegal characters become `_`, no leading digit. */
export function sanitizeLabelName(name: string): string {
  if (LABEL_NAME.test(name) && !name.startsWith('__')) return name;
  let cleaned = name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (/^[0-9]/.test(cleaned)) cleaned = `_${cleaned}`;
  if (cleaned.startsWith('__')) cleaned = cleaned.replace(/^_+/, '_');
  return cleaned.length > 0 ? cleaned : '_';
}

/**
 * Label values may hold any UTF-8, but not lone surrogates (which break protobuf encoding), and receivers
 * cap their length (AMP: 1024 bytes by default). Long values keep a hash suffix so distinct values stay distinct.
 */
export function sanitizeLabelValue(value: string, maxLength: number): string {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: a short well-formed value is kept as it is, without the copy
  // toWellFormed makes (a plan sanitises every dimension of every metric it reads: ~0.5 GB a 10,000-variant read).
  if (value.length * 3 <= maxLength && value.isWellFormed()) return value;
  const wellFormed = value.toWellFormed();
  if (Buffer.byteLength(wellFormed, 'utf8') <= maxLength) return wellFormed;
  const hash = createHash('sha256').update(wellFormed).digest('hex').slice(0, 12);
  const suffix = `…${hash}`;
  const budget = maxLength - Buffer.byteLength(suffix, 'utf8');
  let cut = '';
  for (const char of wellFormed) {
    if (Buffer.byteLength(cut + char, 'utf8') > budget) break;
    cut += char;
  }
  return cut + suffix;
}

/** Matching key for CloudWatch metric names: case, spaces, `_` and `-` are ignored. */
export function normalizeMetricKey(name: string): string {
  return name.toLowerCase().replace(/[\s_-]+/g, '');
}

/** `AWS/SageMaker` -> `sagemaker`, `/aws/sagemaker/Endpoints` -> `sagemaker_endpoints`, `neuron_monitor` -> `neuron_monitor`. */
export function namespacePrefix(namespace: string): string {
  return snakeCase(namespace.replace(/^\/?aws\//i, ''));
}

/** The Prometheus label a tag key becomes: `cost-center` -> `tag_cost_center`, `Team` -> `tag_Team` (case kept, as YACE does). */
export function tagLabelName(key: string): string {
  return `tag_${sanitizeLabelName(key)}`;
}

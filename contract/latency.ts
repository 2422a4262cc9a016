/**
 * How latency metrics (catalog entries of type `summary` that the catalog marks `histogram: true`) are written:
 * `summary` (p50/p90/p99 per series, `<name>{quantile}`), `histogram` (`<name>_bucket{le}` from CloudWatch's
 * `TC(:edge)`, aggregatable with `histogram_quantile`), or `both`.
 */
export const LATENCY_MODES = ['summary', 'histogram', 'both'] as const;
export type LatencyMode = (typeof LATENCY_MODES)[number];
export const DEFAULT_LATENCY_MODE: LatencyMode = 'histogram';


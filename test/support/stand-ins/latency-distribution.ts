/**
 * Raw latency values for the CloudWatch stand-in: every latency statistic it answers (SampleCount, Sum, Average,
 * Minimum, Maximum, pNN, TC, PR) is computed from an actual set of values per (metric, dimensions, period), as
 * CloudWatch does, so a test can compare what the bridge makes of them with the truth of the pooled raw values.
 *
 * Values come from a log-logistic distribution (or a mixture of two), drawn as sorted order statistics from a
 * seeded generator: deterministic, and cheap enough for a fleet-scale benchmark (no sort, no state).
 */

/** Per-variant latency shapes: most requests fast and alike, a slow and spread-out model, and a fast path with a slow tail. */
export type LatencyProfile = 'fast' | 'slow' | 'bimodal';
export const LATENCY_PROFILES: readonly LatencyProfile[] = ['fast', 'slow', 'bimodal'];

/** A log-logistic component: median `median` seconds, shape `shape` (larger is narrower), `weight` of the requests. */
interface Component {
  readonly median: number;
  readonly shape: number;
  readonly weight: number;
}

const PROFILES: Readonly<Record<LatencyProfile, readonly Component[]>> = {
  fast: [{ median: 0.015, shape: 8, weight: 1 }],
  slow: [{ median: 0.12, shape: 2.5, weight: 1 }],
  bimodal: [
    { median: 0.02, shape: 10, weight: 0.85 },
    { median: 0.6, shape: 6, weight: 0.15 },
  ],
};

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** mulberry32: a small, well-mixed 32-bit generator; values in (0, 1). */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
}

/** `n` uniform order statistics, ascending, from exponential spacings (no sort needed). */
function sortedUniforms(n: number, random: () => number): Float64Array {
  const out = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += -Math.log(random());
    out[i] = total;
  }
  total += -Math.log(random());
  for (let i = 0; i < n; i++) out[i] = (out[i] as number) / total;
  return out;
}

function logLogisticQuantile(u: number, c: Component): number {
  return c.median * Math.pow(u / (1 - u), 1 / c.shape);
}

/**
 * The `count` raw latencies (in seconds times `unitsPerSecond`, e.g. 1e6 for CloudWatch microseconds) of one
 * series in one period, ascending. The same seed always gives the same values.
 */
export function rawLatencies(seed: string, profile: LatencyProfile, count: number, unitsPerSecond: number): Float64Array {
  const random = generator(hash(seed));
  const components = PROFILES[profile];
  const parts: Float64Array[] = [];
  let left = count;
  components.forEach((component, i) => {
    const n = i === components.length - 1 ? left : Math.round(count * component.weight);
    left -= n;
    const u = sortedUniforms(n, random);
    parts.push(u.map((x) => logLogisticQuantile(x, component) * unitsPerSecond));
  });
  return parts.length === 1 ? (parts[0] as Float64Array) : mergeSorted(parts);
}

function mergeSorted(parts: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  const at = parts.map(() => 0);
  for (let k = 0; k < out.length; k++) {
    let best = -1;
    for (let p = 0; p < parts.length; p++) {
      const i = at[p] as number;
      const part = parts[p] as Float64Array;
      if (i < part.length && (best < 0 || (part[i] as number) < ((parts[best] as Float64Array)[at[best] as number] as number))) best = p;
    }
    out[k] = (parts[best] as Float64Array)[at[best] as number] as number;
    at[best] = (at[best] as number) + 1;
  }
  return out;
}

/**
 * CloudWatch's statistic syntax as its "Statistics definitions" page states it: SampleCount, Sum, Average, Minimum,
 * Maximum, pNN(.NN), and the bounded statistics TC, PR, TM, TS, WM (`TC(lo:hi)`, either bound may be left out, as
 * values or percentages) and their short forms (tc90). A string outside this syntax is not a statistic at all:
 * GetMetricData refuses the call.
 */
const NUMBER = String.raw`\d+(?:\.\d{1,10})?`;
const BOUND = String.raw`${NUMBER}%?`;
const STATISTIC = new RegExp(String.raw`^(?:SampleCount|Sum|Average|Minimum|Maximum|IQM|p${NUMBER}|(?:tm|tc|ts|wm)${NUMBER}|(?:TM|TC|TS|WM|PR)\((?:${BOUND})?:(?:${BOUND})?\))$`);

export function isStatistic(stat: string): boolean {
  return STATISTIC.test(stat);
}

/** Nearest-rank percentile of ascending values. */
function percentileOf(sorted: Float64Array, q: number): number {
  const rank = Math.max(1, Math.ceil((q / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

/**
 * How many values are at most `x`, as CloudWatch approximates it: values are kept in bins about 2 % wide; a bound
 * inside a bin counts that bin's values in proportion (linear between the bin's lowest and highest value), so
 * the count can be fractional, as the documentation warns. At or above the bin's highest value it counts all of
 * them, below its lowest none: an exact bound is inclusive above, exclusive below.
 */
export function countAtMost(sorted: Float64Array, x: number): number {
  // Binary search: the first value above x.
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  const above = lo;
  if (above === 0 || above === sorted.length) return above;
  const bin = binOf(x);
  // The values of x's bin on either side of x.
  let first = above;
  while (first > 0 && binOf(sorted[first - 1] as number) === bin) first--;
  let last = above;
  while (last < sorted.length && binOf(sorted[last] as number) === bin) last++;
  if (first === above || last === above) return above;
  const low = sorted[first] as number;
  const high = sorted[last - 1] as number;
  return first + ((last - first) * (x - low)) / (high - low);
}

const BIN_WIDTH = Math.log(1.02);

function binOf(value: number): number {
  return value > 0 ? Math.floor(Math.log(value) / BIN_WIDTH) : -Infinity;
}

/**
 * One statistic of one period's values (ascending), as CloudWatch answers it; undefined when it has none (no
 * values, or a percentile-type statistic over negative values, which CloudWatch does not offer).
 */
type ParsedStatistic = { readonly kind: 'p'; readonly percentile: number } | { readonly kind: 'TC' | 'PR'; readonly lower: string; readonly upper: string };

/** Statistic names parsed once: a fleet-scale catch-up asks the same few dozen names millions of times. */
const PARSED = new Map<string, ParsedStatistic | undefined>();

function parsedStatistic(stat: string): ParsedStatistic | undefined {
  if (PARSED.has(stat)) return PARSED.get(stat);
  const p = /^p(\d+(?:\.\d+)?)$/.exec(stat);
  const bounded = /^(TC|PR)\(([^:]*):([^)]*)\)$/.exec(stat);
  const parsed: ParsedStatistic | undefined = p
    ? { kind: 'p', percentile: Number(p[1]) }
    : bounded
      ? { kind: bounded[1] as 'TC' | 'PR', lower: bounded[2] as string, upper: bounded[3] as string }
      : undefined;
  PARSED.set(stat, parsed);
  return parsed;
}

export function statisticOf(sorted: Float64Array, stat: string): number | undefined {
  const n = sorted.length;
  if (n === 0) return undefined;
  switch (stat) {
    case 'SampleCount':
      return n;
    case 'Sum':
      return sorted.reduce((s, v) => s + v, 0);
    case 'Average':
      return sorted.reduce((s, v) => s + v, 0) / n;
    case 'Minimum':
      return sorted[0];
    case 'Maximum':
      return sorted[n - 1];
  }
  if ((sorted[0] as number) < 0) return undefined;
  const parsed = parsedStatistic(stat);
  if (parsed === undefined) return undefined;
  if (parsed.kind === 'p') return percentileOf(sorted, parsed.percentile);
  const { kind, lower, upper } = parsed;
  const at = (bound: string, missing: number) => {
    if (bound === '') return missing;
    // A percentage bound is a percentile of the values.
    return bound.endsWith('%') ? percentileOf(sorted, Number(bound.slice(0, -1))) : Number(bound);
  };
  const count = countAtMost(sorted, at(upper, Infinity)) - countAtMost(sorted, at(lower, -Infinity));
  return kind === 'TC' ? count : (100 * count) / n;
}

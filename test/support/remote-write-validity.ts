import { decodeWriteRequest } from '../../lambda/bridge/remote-write/encode';

/** Prometheus' label-name and metric-name rules (remote write 1.0 asks for the same). */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export type DecodedSeries = ReturnType<typeof decodeWriteRequest>[number];

/** A decoded series' identity: its label pairs, in order. */
export function identityOf(series: DecodedSeries): string {
  return JSON.stringify(series.labels.map((l) => [l.name, l.value]));
}

/**
 * Checks requests as a remote-write 1.0 receiver would, in send order: labels sorted by name and unique, no
 * empty value, valid names, values within the receiver's byte limit and well-formed UTF-8, finite sample
 * values, and timestamps strictly increasing per series across every request checked so far.
 */
export class RemoteWriteValidator {
  /** Newest timestamp sent per series. */
  readonly newest = new Map<string, number>();

  constructor(private readonly maxLabelValueBytes: number) {}

  /** Decodes and checks one request body; returns its series. Pass `replay` for a request sent before. */
  check(body: Uint8Array, options: { replay?: boolean } = {}): DecodedSeries[] {
    const decoded = decodeWriteRequest(body);
    for (const series of decoded) {
      const where = identityOf(series);
      const names = series.labels.map((l) => l.name);
      expect(names).toEqual([...names].sort());
      expect(new Set(names).size).toBe(names.length);
      const metric = series.labels.find((l) => l.name === '__name__');
      expect(metric?.value).toMatch(METRIC_NAME);
      for (const { name, value } of series.labels) {
        expect(name).toMatch(LABEL_NAME);
        if (name !== '__name__') expect(name.startsWith('__')).toBe(false);
        expect(value).not.toBe('');
        expect(value).toBe(value.toWellFormed());
        // Metric names are not shortened (that would change the metric): they stay within AMP's 1 KiB default.
        expect(Buffer.byteLength(value, 'utf8')).toBeLessThanOrEqual(name === '__name__' ? 1024 : this.maxLabelValueBytes);
      }
      expect(series.samples.length).toBeGreaterThan(0);
      for (const sample of series.samples) {
        if (!Number.isFinite(sample.value)) throw new Error(`${where}: non-finite sample ${sample.value} at ${sample.timestamp}`);
        if (options.replay) continue;
        const before = this.newest.get(where) ?? -Infinity;
        if (sample.timestamp <= before) throw new Error(`${where}: timestamp ${sample.timestamp} sent after ${before}`);
        this.newest.set(where, sample.timestamp);
      }
    }
    return decoded;
  }
}

import { decodeWriteRequest } from '../../../lambda/bridge/remote-write/encode';

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
  /** Newest sample sent per series. */
  readonly newest = new Map<string, { timestamp: number; value: number }>();
  /** Samples sent again, identical to the newest one of their series (only with `allowIdenticalResend`). */
  readonly resent: string[] = [];

  constructor(
    private readonly maxLabelValueBytes: number,
    /** Record, rather than fail on, a sample equal to its series' newest one (receivers accept it as a no-op). */
    private readonly allowIdenticalResend = false,
  ) {}

  /** Decodes and checks one request body; returns its series. Pass `replay` for a request sent before. */
  check(body: Uint8Array, options: { replay?: boolean } = {}): DecodedSeries[] {
    const decoded = decodeWriteRequest(body);
    for (const series of decoded) {
      const where = identityOf(series);
      // Plain checks, not expect(): property runs call this hundreds of thousands of times.
      const fail = (what: string) => {
        throw new Error(`${where}: ${what}`);
      };
      series.labels.forEach(({ name, value }, i) => {
        if (i > 0 && !((series.labels[i - 1] as { name: string }).name < name)) fail(`labels not sorted by name and unique at ${name}`);
        if (!LABEL_NAME.test(name)) fail(`label name ${JSON.stringify(name)} is not a Prometheus label name`);
        if (name === '__name__' && !METRIC_NAME.test(value)) fail(`metric name ${JSON.stringify(value)} is not a Prometheus metric name`);
        if (name !== '__name__' && name.startsWith('__')) fail(`label ${name} uses the reserved __ prefix`);
        if (value === '') fail(`label ${name} is empty`);
        if (value !== value.toWellFormed()) fail(`label ${name} holds a lone surrogate`);
        // Metric names are not shortened (that would change the metric): they stay within AMP's 1 KiB default.
        const limit = name === '__name__' ? 1024 : this.maxLabelValueBytes;
        if (Buffer.byteLength(value, 'utf8') > limit) fail(`label ${name} is ${Buffer.byteLength(value, 'utf8')} bytes, over ${limit}`);
      });
      if (!series.labels.some((l) => l.name === '__name__')) fail('no __name__');
      if (series.samples.length === 0) fail('no samples');
      for (const sample of series.samples) {
        if (!Number.isFinite(sample.value)) fail(`non-finite sample ${sample.value} at ${sample.timestamp}`);
        if (options.replay) continue;
        const before = this.newest.get(where);
        if (this.allowIdenticalResend && before?.timestamp === sample.timestamp && before.value === sample.value) {
          this.resent.push(`${where} ${sample.timestamp} ${sample.value}`);
          continue;
        }
        if (before && sample.timestamp <= before.timestamp) fail(`timestamp ${sample.timestamp} sent after ${before.timestamp}`);
        this.newest.set(where, sample);
      }
    }
    return decoded;
  }
}

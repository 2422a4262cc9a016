import type { BridgeConfig } from '../../../contract/bridge-config';
import type { MetricMapping } from '../catalog/catalog';
import type { BridgeState } from '../state/state';
import type { CursorSettings } from '../translate';

/** What a metric is for, which decides how often it is read (config `readIntervals`). */
export type MetricClass = keyof BridgeConfig['readIntervals'];

export const METRIC_CLASSES: readonly MetricClass[] = ['counters', 'latency', 'utilization', 'other'];

const INSTANCE_NAMESPACES = new Set(['/aws/sagemaker/Endpoints', '/aws/sagemaker/InferenceComponents']);

/** The class of a catalog mapping: instance metrics by namespace, timings by their quantile, bucket, `_sum` or `_count` series, counters by kind. */
export function metricClass(namespace: string, mapping: MetricMapping): MetricClass {
  if (INSTANCE_NAMESPACES.has(namespace)) return 'utilization';
  const timing = mapping.series.some((s) => s.constLabels.quantile !== undefined || s.constLabels.le !== undefined || s.name.endsWith('_sum') || s.name.endsWith('_count'));
  if (timing) return 'latency';
  if (mapping.series.every((s) => s.kind === 'counter')) return 'counters';
  return 'other';
}

/** Where one class's reads start this cycle, and what its series' windows will refer to. */
export type ClassSettings = Pick<CursorSettings, 'readStart' | 'fetchStart' | 'nextBase'>;

export interface ClassRead {
  /** Read this cycle (else its series wait, untouched, for the cycle that reads them). */
  readonly due: boolean;
  readonly settings: Required<ClassSettings>;
}

/**
 * When each class is read and from where. A class is read when waiting for the next cycle (as long as this one)
 * would leave its newest period older than its interval, and in every cycle that re-reads periods a partial answer
 * left unread. Its series' windows refer to its own revision base, which moves only when it is read; a class never
 * read apart (interval 0, no stored base) reads exactly as the cycle does.
 */
export class ReadSchedule {
  private readonly reads = new Map<MetricClass, ClassRead>();

  constructor(
    private readonly config: Pick<BridgeConfig, 'readIntervals' | 'revisionWindow'>,
    private readonly previous: Pick<BridgeState, 'classes' | 'rereadFrom' | 'highWaterMark'>,
    private readonly cycle: Required<ClassSettings> & { readonly end: number; readonly heldBase?: number },
  ) {
    for (const c of METRIC_CLASSES) this.reads.set(c, this.plan(c));
  }

  of(c: MetricClass): ClassRead {
    return this.reads.get(c) as ClassRead;
  }

  /** The earliest period any class reads from. */
  get earliestFetch(): number {
    return Math.min(...[...this.reads.values()].map((r) => r.settings.fetchStart));
  }

  /** The oldest period some class has not read yet: the end of the least recent read, this cycle's included. */
  get readUpTo(): number {
    let upTo = this.cycle.end;
    for (const c of METRIC_CLASSES) if (!this.of(c).due) upTo = Math.min(upTo, this.previous.classes?.[c]?.end ?? upTo);
    return upTo;
  }

  /** The classes read apart, as the state keeps them after this cycle. */
  committed(): Record<string, { base: number; end: number }> | undefined {
    const out: Record<string, { base: number; end: number }> = {};
    for (const c of METRIC_CLASSES) {
      if (this.config.readIntervals[c] === 0) continue;
      const read = this.of(c);
      const stored = this.previous.classes?.[c];
      if (read.due) out[c] = { base: read.settings.nextBase, end: this.cycle.end };
      else if (stored) out[c] = stored;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }

  private plan(c: MetricClass): ClassRead {
    const { cycle, previous } = this;
    const interval = this.config.readIntervals[c] * 1000;
    const stored = previous.classes?.[c];
    // Read every cycle and never apart: exactly the cycle's windows (a held base included).
    if (interval === 0 && stored === undefined) return { due: true, settings: { readStart: cycle.readStart, fetchStart: cycle.fetchStart, nextBase: cycle.nextBase } };
    const readStart = stored?.base ?? cycle.readStart;
    const fetchStart = Math.min(readStart, cycle.fetchStart);
    const span = cycle.end - (previous.highWaterMark ?? cycle.end);
    const due = interval === 0 || stored === undefined || previous.rereadFrom !== undefined || cycle.end + span - stored.end > interval;
    // While answers cut short hold series, no base moves: every window refers to its base or to the held one.
    const nextBase = due && cycle.heldBase === undefined ? Math.max(readStart, cycle.end - this.config.revisionWindow * 1000) : readStart;
    return { due, settings: { readStart, fetchStart, nextBase } };
  }
}

import type { BridgeConfig } from '../../../contract/bridge-config';
import type { MetricMapping } from '../catalog/catalog';
import { holdStands, type BridgeState, type StoredClass } from '../state/state';
import type { CursorSettings } from '../translate';

/** What a metric is for, which decides how often it is read (config `readIntervals`). */
export type MetricClass = keyof BridgeConfig['readIntervals'];

export const METRIC_CLASSES: readonly MetricClass[] = ['counters', 'latency', 'utilization', 'other'];

const INSTANCE_NAMESPACES = new Set(['/aws/sagemaker/Endpoints', '/aws/sagemaker/InferenceComponents']);

/**
 * The class of a catalog mapping: instance metrics by namespace; timings by a quantile or bucket series, or a `_sum`
 * and a `_count` together (a gauge that is merely named `..._count`, such as Neuron's `system_vcpu_count`, is no
 * timing); counters by kind.
 */
export function metricClass(namespace: string, mapping: MetricMapping): MetricClass {
  if (INSTANCE_NAMESPACES.has(namespace)) return 'utilization';
  const named = (suffix: string) => mapping.series.some((s) => s.name.endsWith(suffix));
  const timing = mapping.series.some((s) => s.constLabels.quantile !== undefined || s.constLabels.le !== undefined) || (named('_sum') && named('_count'));
  if (timing) return 'latency';
  if (mapping.series.every((s) => s.kind === 'counter')) return 'counters';
  return 'other';
}

/** Where one class's reads start this cycle, what its series' windows will refer to, and its held series' base. */
export type ClassSettings = Pick<CursorSettings, 'readStart' | 'fetchStart' | 'nextBase' | 'heldBase'>;

/** A class's settings: every key present, `heldBase` undefined when none of its series is held. */
export type ClassReadSettings = Required<Omit<ClassSettings, 'heldBase'>> & { readonly heldBase: number | undefined };

export interface ClassRead {
  /** Read this cycle (else its series wait, untouched, for the cycle that reads them). */
  readonly due: boolean;
  readonly settings: ClassReadSettings;
}

/** The base the windows of a read's held series refer to: a series cut before its frontier is held there. */
export function heldRef(settings: Pick<ClassSettings, 'readStart' | 'heldBase'>): number {
  return settings.heldBase ?? settings.readStart;
}

/**
 * When each class is read and from where. A class is read when waiting for the next cycle (as long as this one)
 * would leave its newest period older than its interval, and in every cycle that re-reads periods a partial answer
 * left unread. Its series' windows refer to its own revision base, which moves only when it is read and none of its
 * series is held; its held series' windows refer to its own held base. A class never read apart (interval 0, no
 * stored base) reads exactly as the cycle does.
 */
export class ReadSchedule {
  private readonly reads = new Map<MetricClass, ClassRead>();

  constructor(
    private readonly config: Pick<BridgeConfig, 'readIntervals' | 'revisionWindow'>,
    private readonly previous: Pick<BridgeState, 'classes' | 'rereadFrom' | 'highWaterMark'>,
    private readonly cycle: Required<Omit<ClassSettings, 'heldBase'>> & { readonly end: number; readonly heldBase?: number; readonly startedAt: number },
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

  /**
   * The classes read apart, as the state keeps them after this cycle. `held`: the bases that series held this cycle
   * refer to; a class whose own held base is among them keeps it (a class not due keeps what it had: its series were
   * not read).
   */
  committed(held: ReadonlySet<number> = new Set()): Record<string, StoredClass> | undefined {
    const out: Record<string, StoredClass> = {};
    for (const c of METRIC_CLASSES) {
      if (this.config.readIntervals[c] === 0) continue;
      const read = this.of(c);
      const stored = this.previous.classes?.[c];
      const ref = heldRef(read.settings);
      if (!read.due) {
        if (stored) out[c] = stored;
        continue;
      }
      const next = { base: read.settings.nextBase, end: this.cycle.end };
      // A hold that goes on (its base read again) keeps where it began; a new one begins at this cycle's window end.
      const since = read.settings.heldBase === ref && stored?.held === ref ? (stored.heldSince ?? ref) : this.cycle.end;
      out[c] = held.has(ref) ? { ...next, held: ref, heldSince: since } : next;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }

  private plan(c: MetricClass): ClassRead {
    const { cycle, previous } = this;
    const interval = this.config.readIntervals[c] * 1000;
    const stored = previous.classes?.[c];
    // Read every cycle and never apart: exactly the cycle's windows (a held base included).
    if (interval === 0 && stored === undefined) return { due: true, settings: { readStart: cycle.readStart, fetchStart: cycle.fetchStart, nextBase: cycle.nextBase, heldBase: cycle.heldBase } };
    const readStart = stored?.base ?? cycle.readStart;
    // A class read apart holds its series at its own base (its windows never refer to the cycle's); let go once the
    // cycles have written 3 hours of windows since the hold began (an outage, when no cycle runs, does not count).
    const written = previous.highWaterMark ?? cycle.startedAt;
    const storedHeld = stored?.held !== undefined && holdStands(stored.heldSince ?? stored.held, written) ? stored.held : undefined;
    const heldBase = stored ? storedHeld : cycle.heldBase;
    const fetchStart = Math.min(readStart, cycle.fetchStart, heldBase ?? Infinity);
    const span = cycle.end - (previous.highWaterMark ?? cycle.end);
    const due = interval === 0 || stored === undefined || previous.rereadFrom !== undefined || cycle.end + span - stored.end > interval;
    // While answers cut short hold some of its series, the class's base stays: every window refers to it or to the held one.
    const nextBase = due && heldBase === undefined ? Math.max(readStart, cycle.end - this.config.revisionWindow * 1000) : readStart;
    return { due, settings: { readStart, fetchStart, nextBase, heldBase } };
  }
}

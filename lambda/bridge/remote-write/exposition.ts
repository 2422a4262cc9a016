import type { FamilyLookup } from '../catalog/catalog';
import { builtInFamilies } from '../families';
import type { TimeSeries } from '../series';

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** HELP for a family the lookup does not know: still there, since scrapers and linters expect one per family. */
export const UNDESCRIBED = 'not described by the catalog this exposition was written with';

/**
 * Prometheus text exposition (0.0.4) with timestamps, written as it comes: `# HELP` and `# TYPE` each time the
 * metric family changes. A summary's `<name>_sum`, `<name>_count` and `<name>{quantile}` series are one family,
 * as the family lookup says. Callers hand series over grouped by family (the query plan keeps each together).
 */
export class ExpositionWriter {
  private lastFamily: string | undefined;
  bytes = 0;

  /** `families` should be the cycle's own catalog (see familyLookup); the built-in catalog is the fallback. */
  constructor(
    private readonly write: (text: string) => void,
    private readonly families: FamilyLookup = builtInFamilies(),
  ) {}

  add(series: readonly TimeSeries[]): void {
    const lines: string[] = [];
    for (const s of series) {
      const name = s.labels.find((l) => l.name === '__name__')?.value ?? '';
      const info = this.families(name);
      const family = info?.family ?? name;
      if (family !== this.lastFamily) {
        lines.push(`# HELP ${family} ${escapeHelp(info?.help ?? UNDESCRIBED)}`);
        lines.push(`# TYPE ${family} ${info?.type ?? s.kind}`);
        this.lastFamily = family;
      }
      const labels = s.labels
        .filter((l) => l.name !== '__name__')
        .map((l) => `${l.name}="${escapeLabelValue(l.value)}"`)
        .join(',');
      const prefix = `${name}${labels ? `{${labels}}` : ''} `;
      for (const sample of s.samples) lines.push(`${prefix}${formatValue(sample.value)} ${sample.timestamp}`);
    }
    if (lines.length === 0) return;
    const text = `${lines.join('\n')}\n`;
    this.bytes += Buffer.byteLength(text);
    this.write(text);
  }
}

/** The whole exposition of a few series at once (tests, small outputs), grouped by family. */
export function toExposition(series: readonly TimeSeries[], families: FamilyLookup = builtInFamilies()): string {
  const byFamily = new Map<string, TimeSeries[]>();
  for (const s of series) {
    const name = s.labels.find((l) => l.name === '__name__')?.value ?? '';
    const family = families(name)?.family ?? name;
    const group = byFamily.get(family);
    if (group) group.push(s);
    else byFamily.set(family, [s]);
  }
  let out = '';
  const writer = new ExpositionWriter((text) => (out += text), families);
  for (const family of [...byFamily.keys()].sort()) writer.add(byFamily.get(family) ?? []);
  return out;
}

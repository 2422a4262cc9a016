import type { TimeSeries } from '../series';

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/**
 * Prometheus text exposition (0.0.4) with timestamps, written as it comes: a `# TYPE` line each time the metric
 * name changes. Callers hand series over grouped by name (the query plan keeps each family together).
 */
export class ExpositionWriter {
  private lastName: string | undefined;
  bytes = 0;

  constructor(private readonly write: (text: string) => void) {}

  add(series: readonly TimeSeries[]): void {
    const lines: string[] = [];
    for (const s of series) {
      const name = s.labels.find((l) => l.name === '__name__')?.value ?? '';
      if (name !== this.lastName) {
        lines.push(`# TYPE ${name} ${s.kind}`);
        this.lastName = name;
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

/** The whole exposition of a few series at once (tests, small outputs), grouped by name. */
export function toExposition(series: readonly TimeSeries[]): string {
  const byName = new Map<string, TimeSeries[]>();
  for (const s of series) {
    const name = s.labels.find((l) => l.name === '__name__')?.value ?? '';
    const group = byName.get(name);
    if (group) group.push(s);
    else byName.set(name, [s]);
  }
  let out = '';
  const writer = new ExpositionWriter((text) => (out += text));
  for (const name of [...byName.keys()].sort()) writer.add(byName.get(name) ?? []);
  return out;
}

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

/** Prometheus text exposition (0.0.4) of what would be written, with timestamps, grouped by metric name. */
export function toExposition(series: readonly TimeSeries[]): string {
  const byName = new Map<string, TimeSeries[]>();
  for (const s of series) {
    const name = s.labels.find((l) => l.name === '__name__')?.value ?? '';
    byName.set(name, [...(byName.get(name) ?? []), s]);
  }
  const lines: string[] = [];
  for (const name of [...byName.keys()].sort()) {
    const group = byName.get(name) ?? [];
    lines.push(`# TYPE ${name} ${group[0]?.kind ?? 'gauge'}`);
    for (const s of group) {
      const labels = s.labels
        .filter((l) => l.name !== '__name__')
        .map((l) => `${l.name}="${escapeLabelValue(l.value)}"`)
        .join(',');
      for (const sample of s.samples) lines.push(`${name}${labels ? `{${labels}}` : ''} ${formatValue(sample.value)} ${sample.timestamp}`);
    }
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

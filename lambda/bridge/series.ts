/** One Prometheus sample: epoch ms and value. */
export interface Sample {
  readonly timestamp: number;
  readonly value: number;
}

export interface Label {
  readonly name: string;
  readonly value: string;
}

/** A series ready for remote write: labels sorted by name (with `__name__`), unique, non-empty; samples ascending. */
export interface TimeSeries {
  readonly labels: readonly Label[];
  readonly samples: readonly Sample[];
  /** For the text exposition's `# TYPE` line. */
  readonly kind: 'counter' | 'gauge';
}

/** Builds the sorted, de-duplicated label set; empty values are left out (Prometheus treats them as absent). */
export function buildLabels(name: string, labels: Readonly<Record<string, string>>): Label[] {
  const out: Label[] = [{ name: '__name__', value: name }];
  for (const [labelName, value] of Object.entries(labels)) {
    if (value !== '' && labelName !== '__name__') out.push({ name: labelName, value });
  }
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

/** A stable identity for a label set (the state key of a series). */
export function seriesKey(labels: readonly Label[]): string {
  return labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(',');
}

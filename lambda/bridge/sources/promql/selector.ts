/** A label matcher of a PromQL selector. */
export interface Matcher {
  readonly label: string;
  readonly op: '=' | '=~';
  readonly value: string;
}

/** A PromQL string literal: JSON's escapes are a subset of PromQL's double-quoted strings. */
export function quote(value: string): string {
  return JSON.stringify(value);
}

/** An RE2 pattern matching exactly `value` (PromQL regexes are anchored). */
export function escapeRegex(value: string): string {
  return value.replace(/[\\^$.|?*+()[\]{}]/g, (c) => `\\${c}`);
}

/**
 * The quoted UTF-8 form CloudWatch requires for OTel names with dots: `{"metric", "label"="value"}`. Every name is
 * quoted, so `vllm:...`, `DCGM_...` and `@resource.host.id` take one code path.
 */
export function selector(metric: string, matchers: readonly Matcher[]): string {
  return `{${[quote(metric), ...matchers.map((m) => `${quote(m.label)}${m.op}${quote(m.value)}`)].join(', ')}}`;
}

/** A group of source series one query_range reads, and the matchers that select exactly it. */
export interface Split<T> {
  readonly matchers: readonly Matcher[];
  readonly members: readonly T[];
}

/**
 * Splits `members` into groups of at most `limit` by the labels of `splitBy`, in order: whole values of the first
 * label packed together (one regex alternation), a value with more than `limit` series split by the next label.
 * A group the labels cannot split under `limit` is returned whole; the caller refuses it.
 */
export function splitByLabels<T>(members: readonly T[], labelsOf: (member: T) => Readonly<Record<string, string>>, splitBy: readonly string[], limit: number, fixed: readonly Matcher[] = []): Split<T>[] {
  if (members.length <= limit) return [{ matchers: fixed, members }];
  const [label, ...rest] = splitBy;
  if (label === undefined) return [{ matchers: fixed, members }];
  const byValue = new Map<string, T[]>();
  for (const member of members) {
    // An absent label reads as "": PromQL's `label=""` and `=~"...|"` match series without it.
    const value = labelsOf(member)[label] ?? '';
    byValue.set(value, [...(byValue.get(value) ?? []), member]);
  }
  const out: Split<T>[] = [];
  let packed: { values: string[]; members: T[] } = { values: [], members: [] };
  const flush = () => {
    if (packed.values.length > 0) out.push({ matchers: [...fixed, { label, op: '=~', value: packed.values.map(escapeRegex).join('|') }], members: packed.members });
    packed = { values: [], members: [] };
  };
  for (const [value, group] of [...byValue].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (group.length > limit) {
      out.push(...splitByLabels(group, labelsOf, rest, limit, [...fixed, { label, op: '=', value }]));
      continue;
    }
    if (packed.members.length + group.length > limit) flush();
    packed.values.push(value);
    packed.members.push(...group);
  }
  flush();
  return out;
}

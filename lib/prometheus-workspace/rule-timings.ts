import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../../contract/errors';
import { BRIDGE_CLASSES, DEFAULT_SOURCE_TIMINGS, SeriesIndex, type SeriesSource, type SourceTimings } from './series-sources';

/** The project's recording rules. */
export const PROJECT_RULES_FILE = join(__dirname, 'inferwatch.rules.yaml');

/** A rule as rule files hold it: `record` or `alert`, `expr`, and what else Prometheus takes. */
export type RawRule = Record<string, unknown>;

/** The `groups` list of a rule file, as written (placeholders unfilled). */
export function readRuleFile(file: string): unknown[] {
  const parsed = parseYaml(readFileSync(file, 'utf8')) as { groups?: unknown } | null;
  if (!parsed || !Array.isArray(parsed.groups)) throw new Error(`rule file ${file} does not start with a top-level "groups:" list`);
  return parsed.groups;
}

/** Every rule of these groups. */
export function rulesOf(groups: readonly unknown[]): RawRule[] {
  return groups.flatMap((g) => {
    const rules = (g as { rules?: unknown } | null)?.rules;
    return Array.isArray(rules) ? (rules as RawRule[]) : [];
  });
}

/** The windows that suit bridge data (`${window}` and `${offset}` in the rule files and the alert template). */
export interface BridgeWindows {
  /** Lookback of last_over_time and of rates: always holds the newest sample, even just before a cycle writes. */
  readonly window: string;
  /** How far back an absolute rate reads its window, so that the window is complete. */
  readonly offset: string;
}

/** How far bridge data trails real time with the defaults: a 5-minute schedule, 120 s settle and a 60 s period. */
export const DEFAULT_BRIDGE_LAG_SECONDS = 5 * 60 + 120 + 60;

/**
 * Windows for data that trails real time by up to `lagSeconds` (schedule + settle + period) and arrives once a
 * schedule: 15m and 10m for 480 s. The window adds 7 minutes for the cycle's own run time and rounds up to 5
 * minutes; the offset adds 2 and rounds up to a minute.
 */
export function bridgeWindows(lagSeconds: number = DEFAULT_BRIDGE_LAG_SECONDS): BridgeWindows {
  const window = Math.max(900, Math.ceil((lagSeconds + 420) / 300) * 300);
  const offset = Math.max(600, Math.ceil((lagSeconds + 120) / 60) * 60);
  return { window: `${window / 60}m`, offset: `${offset / 60}m` };
}

/** Fills `${window}` and `${offset}` in a rule file's text; other text is left alone. */
export function fillBridgeWindows(text: string, windows: BridgeWindows): string {
  return text.replace(/\$\{(window|offset)\}/g, (_, name: 'window' | 'offset') => windows[name]);
}

export const WINDOW_PLACEHOLDER = /\$\{(window|offset)\}/;

/** PromQL words that look like series names but are not. */
const KEYWORDS = new Set(['and', 'or', 'unless', 'offset', 'bool', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan', 'atan2']);

/**
 * The series names a PromQL expression selects. Strings, label matchers, ranges and grouping label lists are cut
 * first, so what is left that is a name not followed by `(` (a function or an aggregation) is a selector.
 * (@prometheus-io/lezer-promql would parse it; it is not a dependency here, and selectors are all this needs.)
 */
export function selectedNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^{}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(/(?<![\w:.$])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    const name = match[1] as string;
    if (!KEYWORDS.has(name.toLowerCase())) names.add(name);
  }
  return [...names];
}

/** The window and hold time a rule gets from the slowest source it reads. */
export interface RuleTiming {
  readonly windows: BridgeWindows;
  /** The longest time between two writes of any series it reads: an alert's `for` is at least this. */
  readonly everySeconds: number;
  readonly sources: ReadonlySet<SeriesSource>;
}

/** A rule's sources were asked for and some series it reads come from nowhere known. */
export class UnknownRuleSourceError extends ConfigError {}

interface Resolved {
  readonly sources: Set<SeriesSource>;
  /** Names no source writes, with the recording rule that reads each (the rule itself when it reads it directly). */
  readonly unknown: Array<{ name: string; via: string | undefined }>;
}

/**
 * The sources each rule reads, from the series names of its expression, following recorded series to what their
 * rules read. One namespace serves every workload, so windows follow the slowest workload's timing of each source.
 */
export class RuleTimings {
  private readonly recorded = new Map<string, string[]>();
  private readonly memo = new Map<string, Resolved>();
  private readonly resolving = new Set<string>();

  constructor(
    rules: ReadonlyArray<{ readonly record?: unknown; readonly expr?: unknown }>,
    readonly timings: SourceTimings,
    private readonly index: SeriesIndex,
  ) {
    for (const rule of rules) {
      if (typeof rule.record !== 'string') continue;
      this.recorded.set(rule.record, [...(this.recorded.get(rule.record) ?? []), String(rule.expr)]);
    }
  }

  /** Is `name` recorded by a rule of the namespace. */
  records(name: string): boolean {
    return this.recorded.has(name);
  }

  /** The timing of the rule named `rule` with expression `expr`; a ConfigError naming the rule when a series it reads has no known source. */
  timingOf(expr: string, rule: string): RuleTiming {
    const { sources, unknown } = this.resolveExpr(expr);
    const first = unknown[0];
    if (first?.name.includes(':')) {
      throw new UnknownRuleSourceError(`PrometheusWorkspace: ${rule} reads the recording rule ${first.name}, which no rule file records; pass ruleFiles: [...DEFAULT_RULE_FILES, yours]`);
    }
    if (first) {
      const via = first.via === undefined ? '' : ` (through the recording rule ${first.via})`;
      throw new UnknownRuleSourceError(
        `rule ${rule} reads ${first.name}${via}, which neither the bridge's catalog nor the PromQL source, the SageMaker metadata, the bridge's self-metrics or the collector writes, so the windows and hold time that suit it cannot be derived: add the metric to the bridge's catalog (workloads[].bridge.config.catalog), or give the rule fixed windows instead of \${window} and \${offset}`,
      );
    }
    if (sources.size === 0) throw new UnknownRuleSourceError(`rule ${rule} uses \${window} or \${offset} but reads no series: give it fixed windows`);
    const chosen = [...sources].map((s) => this.timings[s]);
    return { windows: bridgeWindows(Math.max(...chosen.map((t) => t.lagSeconds))), everySeconds: Math.max(...chosen.map((t) => t.everySeconds)), sources };
  }

  private resolveExpr(expr: string, via?: string): Resolved {
    const out: Resolved = { sources: new Set(), unknown: [] };
    for (const name of selectedNames(expr)) {
      if (this.recorded.has(name)) {
        const inner = this.resolveRecord(name);
        for (const s of inner.sources) out.sources.add(s);
        out.unknown.push(...inner.unknown);
        continue;
      }
      const sources = this.index.sourcesOf(name);
      if (sources.size === 0) out.unknown.push({ name, via });
      for (const s of sources) out.sources.add(s);
    }
    return out;
  }

  private resolveRecord(name: string): Resolved {
    const known = this.memo.get(name);
    if (known) return known;
    // A recording rule that reads itself through others adds nothing the others do not.
    if (this.resolving.has(name)) return { sources: new Set(), unknown: [] };
    this.resolving.add(name);
    const out: Resolved = { sources: new Set(), unknown: [] };
    for (const expr of this.recorded.get(name) ?? []) {
      const inner = this.resolveExpr(expr, name);
      for (const s of inner.sources) out.sources.add(s);
      out.unknown.push(...inner.unknown);
    }
    this.resolving.delete(name);
    this.memo.set(name, out);
    return out;
  }
}

let projectDefaults: RuleTimings | undefined;

/** The timings of the project's rules with the bridge's defaults. */
export function defaultRuleTimings(): RuleTimings {
  projectDefaults ??= new RuleTimings(rulesOf(readRuleFile(PROJECT_RULES_FILE)), DEFAULT_SOURCE_TIMINGS, new SeriesIndex());
  return projectDefaults;
}

function fillStrings(value: unknown, windows: BridgeWindows): unknown {
  if (typeof value === 'string') return fillBridgeWindows(value, windows);
  if (Array.isArray(value)) return value.map((v) => fillStrings(v, windows));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillStrings(v, windows)]));
  return value;
}

/**
 * A rule with `${window}` and `${offset}` filled: uniform windows, or the rule's own from the slowest source it
 * reads. A rule without them is left as it is, whatever it reads.
 */
export function fillRuleWindows(rule: RawRule, windows: BridgeWindows | RuleTimings): RawRule {
  if (!WINDOW_PLACEHOLDER.test(JSON.stringify(rule))) return rule;
  const name = String(rule.alert ?? rule.record ?? rule.expr);
  const chosen = windows instanceof RuleTimings ? windows.timingOf(String(rule.expr), name).windows : windows;
  return fillStrings(rule, chosen) as RawRule;
}

/** The sources in people's words: "latency (read every 10m)". */
export function describeSources(sources: ReadonlySet<SeriesSource>, timings: SourceTimings, format: (seconds: number) => string): string {
  const words: Record<SeriesSource, string> = { counters: 'counters', latency: 'latency', utilization: 'utilization', other: 'other', cycle: 'series written every cycle', scrape: 'scraped series' };
  const ordered = [...BRIDGE_CLASSES, 'cycle', 'scrape'].filter((s): s is SeriesSource => sources.has(s as SeriesSource));
  return ordered.map((s) => `${words[s]} (written every ${format(timings[s].everySeconds)})`).join(', ');
}

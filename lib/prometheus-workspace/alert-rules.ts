import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../contract/errors';
import { defaultRuleTimings, describeSources, RuleTimings, type BridgeWindows } from './rule-timings';
import type { SourceTimings } from './series-sources';

/** The alert template: every alert with its default threshold, severity and hold time. */
export const ALERTS_TEMPLATE = join(__dirname, 'inferwatch.alerts.yaml');

export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];
export type ThresholdUnit = 'ratio' | 'seconds' | 'count';

/** A Prometheus duration as rule files take it in `for:` (one or more number-unit pairs, e.g. 10m, 1h30m). */
export const PROMETHEUS_DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

const Threshold = z
  .object({
    value: z.number().min(0),
    unit: z.enum(['ratio', 'seconds', 'count']),
    /** The value is a range selector's length: whole seconds, at least one minute. */
    window: z.boolean().default(false),
  })
  .strict();

const AlertDefinitionSchema = z
  .object({
    alert: z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/),
    threshold: Threshold.optional(),
    severity: z.enum(SEVERITIES),
    for: z.string().regex(PROMETHEUS_DURATION),
    expr: z.string().min(1),
    summary: z.string().min(1),
    description: z.string().min(1),
    runbook: z.string().min(1),
    /** The alert's section of docs/alerts.md: its heading's anchor, rendered as the `runbook_url` annotation. */
    runbookAnchor: z
      .string()
      .regex(/^[a-z0-9-]+$/)
      .optional(),
  })
  .strict();

const TemplateSchema = z
  .object({
    group: z.string().min(1),
    defaultExpr: z.string().includes('${expr}'),
    overrideExpr: z.string().includes('${expr}'),
    /** Where the runbooks are, the base of every `runbook_url` (an alert's anchor is appended after `#`). */
    runbookBase: z.string().min(1),
    alerts: z.array(AlertDefinitionSchema).min(1),
  })
  .strict();

export type AlertDefinition = z.output<typeof AlertDefinitionSchema>;
export type AlertTemplate = z.output<typeof TemplateSchema>;

/** One workload's changes to one alert. Leave a key out to keep the default. */
export interface AlertOverride {
  /** In the alert's unit (see the README's alert table). @default the alert's default */
  readonly threshold?: number;
  /** @default the alert's default */
  readonly severity?: Severity;
  /** How long the condition must hold, a Prometheus duration such as 10m. @default the alert's default */
  readonly for?: string;
  /** `false`: the alert never fires for this workload. @default true */
  readonly enabled?: boolean;
}

/** The alert settings of one workload (an account and a region). */
export interface WorkloadAlerts {
  readonly account: string;
  readonly region: string;
  /** By alert name. */
  readonly alerts: Readonly<Record<string, AlertOverride>>;
  /**
   * How often this workload's data arrives, by source: the floor of its own hold times (`for`).
   * @default the rollout's slowest (PrometheusWorkspaceProps.seriesTimings)
   */
  readonly timings?: SourceTimings;
}

/** A Prometheus rule as rule files hold it. */
export interface RuleGroup {
  readonly name: string;
  readonly interval?: string;
  readonly rules: ReadonlyArray<Record<string, unknown>>;
}

export { bridgeWindows, DEFAULT_BRIDGE_LAG_SECONDS, fillBridgeWindows, type BridgeWindows } from './rule-timings';

let cached: AlertTemplate | undefined;

/** Reads and checks the alert template (the project's unless `file` is given). */
export function loadAlertTemplate(file?: string): AlertTemplate {
  if (file === undefined && cached) return cached;
  const path = file ?? ALERTS_TEMPLATE;
  const parsed = TemplateSchema.safeParse(parseYaml(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    throw new Error(`alert template ${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const names = new Set<string>();
  for (const alert of parsed.data.alerts) {
    if (names.has(alert.alert)) throw new Error(`alert template ${path}: alert ${alert.alert} is defined twice`);
    names.add(alert.alert);
    if (!alert.threshold && /\$\{threshold\}/.test([alert.expr, alert.summary, alert.description, alert.runbook].join())) {
      throw new Error(`alert template ${path}: alert ${alert.alert} uses \${threshold} but has no threshold`);
    }
  }
  if (file === undefined) cached = parsed.data;
  return parsed.data;
}

/** Problems with one workload's `alerts` map, each with the key under `alerts` it is about. Empty when it is fine. */
export function alertOverrideProblems(alerts: Readonly<Record<string, AlertOverride>>, template: AlertTemplate = loadAlertTemplate()): Array<{ path: string[]; message: string }> {
  const byName = new Map(template.alerts.map((a) => [a.alert, a]));
  const problems: Array<{ path: string[]; message: string }> = [];
  for (const [name, override] of Object.entries(alerts)) {
    const definition = byName.get(name);
    if (!definition) {
      problems.push({ path: [name], message: `is not an inferwatch alert; the alerts are ${[...byName.keys()].join(', ')}` });
      continue;
    }
    if (override.threshold === undefined) continue;
    const threshold = definition.threshold;
    if (!threshold) {
      problems.push({ path: [name, 'threshold'], message: `${name} has no threshold (it fires on a state, not a level); set severity, for or enabled instead` });
    } else if (!Number.isFinite(override.threshold) || override.threshold < 0) {
      problems.push({ path: [name, 'threshold'], message: 'must be a number from 0' });
    } else if (threshold.unit === 'ratio' && override.threshold > 1) {
      problems.push({ path: [name, 'threshold'], message: `is a ratio from 0 to 1 (0.05 is 5%), got ${override.threshold}` });
    } else if (threshold.window && (!Number.isInteger(override.threshold) || override.threshold < 60)) {
      problems.push({ path: [name, 'threshold'], message: `is a window in whole seconds, at least 60 (got ${override.threshold})` });
    } else if (threshold.unit === 'count' && !Number.isInteger(override.threshold)) {
      problems.push({ path: [name, 'threshold'], message: `is a count, a whole number (got ${override.threshold})` });
    }
  }
  return problems;
}

/** The number as people read it: 5%, 30m, 100ms, 10. */
export function humanThreshold(value: number, unit: ThresholdUnit): string {
  if (unit === 'ratio') return `${Number((value * 100).toPrecision(6))}%`;
  if (unit === 'count') return String(value);
  if (value >= 3600 && value % 3600 === 0) return `${value / 3600}h`;
  if (value >= 60 && value % 60 === 0) return `${value / 60}m`;
  if (value >= 1) return `${value}s`;
  return `${Number((value * 1000).toPrecision(6))}ms`;
}

/** Fills `${name}` placeholders; a placeholder without a value is an error in the template, not left in a rule. */
function fill(text: string, values: Readonly<Record<string, string>>, where: string): string {
  return text.replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`alert template: \${${name}} in ${where} has no value`);
    return value;
  });
}

function alertRule(
  definition: AlertDefinition,
  settings: { threshold?: number; severity: Severity; for: string },
  windows: BridgeWindows,
  wrap: (expr: string) => string,
  runbookBase: string,
): Record<string, unknown> {
  const unit = definition.threshold?.unit ?? 'count';
  const forText = humanThreshold(durationSeconds(settings.for), 'seconds');
  const people: Record<string, string> = { for: forText, window: windows.window };
  const machine: Record<string, string> = { ...windows };
  if (settings.threshold !== undefined) {
    people.threshold = humanThreshold(settings.threshold, unit);
    machine.threshold = String(settings.threshold);
  }
  const where = `alert ${definition.alert}`;
  return {
    alert: definition.alert,
    expr: wrap(fill(definition.expr, machine, where).trimEnd()),
    for: settings.for,
    labels: { severity: settings.severity },
    annotations: {
      summary: fill(definition.summary, people, where),
      description: fill(definition.description, people, where),
      runbook: fill(definition.runbook, people, where),
      ...(definition.runbookAnchor === undefined ? {} : { runbook_url: `${runbookBase}#${definition.runbookAnchor}` }),
    },
  };
}

/** Seconds in a Prometheus duration such as 1h30m. */
export function durationSeconds(duration: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(n) * (units[unit as string] as number);
  return total;
}

/** An alert's windows, and the shortest hold time its data allows (0: no floor) with the rollout's timings or a workload's own. */
interface AlertTiming {
  readonly windows: BridgeWindows;
  readonly minForSeconds: (own?: SourceTimings) => number;
  readonly reads: (own?: SourceTimings) => string;
}

function alertTiming(definition: AlertDefinition, timings: BridgeWindows | RuleTimings): AlertTiming {
  if (!(timings instanceof RuleTimings)) return { windows: timings, minForSeconds: () => 0, reads: () => '' };
  const timing = timings.timingOf(definition.expr, definition.alert);
  return {
    windows: timing.windows,
    minForSeconds: (own) => Math.max(0, ...[...timing.sources].map((s) => (own ?? timings.timings)[s].everySeconds)),
    reads: (own) => describeSources(timing.sources, own ?? timings.timings, (seconds) => humanThreshold(seconds, 'seconds')),
  };
}

/**
 * A workload's own hold times (`for`) shorter than the interval at which its data for that alert is written (its
 * `timings`), by key under `alerts`: the rollout config's check of what PrometheusWorkspace refuses at synth.
 */
export function holdTimeProblems(
  alerts: Readonly<Record<string, AlertOverride>>,
  timings: SourceTimings,
  ruleTimings: RuleTimings = defaultRuleTimings(),
  template: AlertTemplate = loadAlertTemplate(),
): Array<{ path: string[]; message: string }> {
  const problems: Array<{ path: string[]; message: string }> = [];
  for (const definition of template.alerts) {
    const override = alerts[definition.alert];
    if (override?.for === undefined || override.enabled === false) continue;
    const timing = alertTiming(definition, ruleTimings);
    const min = timing.minForSeconds(timings);
    if (durationSeconds(override.for) >= min) continue;
    const reads = timing.reads(timings);
    problems.push({ path: [definition.alert, 'for'], message: `${override.for} is shorter than ${humanThreshold(min, 'seconds')}, how often the data the alert reads is written (${reads}): hold for longer, or read that class more often (bridge config readIntervals)` });
  }
  return problems;
}

/** `for` raised to `minSeconds` where it is shorter: the condition must hold across two writes of its data, not one write seen twice. */
function atLeast(duration: string, minSeconds: number): string {
  return durationSeconds(duration) >= minSeconds ? duration : humanThreshold(minSeconds, 'seconds');
}

/** A workload's own `for` shorter than its data allows is refused: raising it would change what the user set. */
function checkOverrideFor(definition: AlertDefinition, workload: WorkloadAlerts, override: AlertOverride, timing: AlertTiming): void {
  const min = timing.minForSeconds(workload.timings);
  if (override.for === undefined || durationSeconds(override.for) >= min) return;
  throw new ConfigError(
    `alert ${definition.alert} of workload ${workload.account}/${workload.region}: for ${override.for} is shorter than ${humanThreshold(min, 'seconds')}, how often the data it reads is written (${timing.reads(workload.timings)}); ` +
      `set its for to ${humanThreshold(min, 'seconds')} or more, or read that class more often (bridge config readIntervals)`,
  );
}

/**
 * The alert rule groups for these workloads: a default rule per alert for every workload without an override of
 * it, a rule per overriding workload, and the marker series that tell them apart. Overrides must have passed
 * alertOverrideProblems. `timings`: each alert's windows and hold-time floor from what it reads (RuleTimings), or
 * the same windows for all and the template's hold times.
 */
export function renderAlertGroups(workloads: readonly WorkloadAlerts[] = [], timings: BridgeWindows | RuleTimings = defaultRuleTimings(), template: AlertTemplate = loadAlertTemplate()): RuleGroup[] {
  const rules: Array<Record<string, unknown>> = [];
  const markers: Array<Record<string, unknown>> = [];
  for (const definition of template.alerts) {
    const timing = alertTiming(definition, timings);
    const defaults = { threshold: definition.threshold?.value, severity: definition.severity, for: atLeast(definition.for, timing.minForSeconds()) };
    const overriding = workloads.filter((w) => w.alerts[definition.alert] !== undefined);
    const names = { alert: definition.alert };
    rules.push(alertRule(definition, defaults, timing.windows, (expr) => (overriding.length === 0 ? expr : fill(template.defaultExpr, { ...names, expr }, 'defaultExpr').trimEnd()), template.runbookBase));
    for (const workload of overriding) {
      const override = workload.alerts[definition.alert] as AlertOverride;
      const labels = { alert: definition.alert, account_id: workload.account, region: workload.region };
      markers.push({ record: 'inferwatch:alert_override:info', expr: 'vector(1)', labels });
      if (override.enabled === false) continue;
      checkOverrideFor(definition, workload, override, timing);
      const settings = { threshold: override.threshold ?? defaults.threshold, severity: override.severity ?? defaults.severity, for: override.for ?? defaults.for };
      rules.push(alertRule(definition, settings, timing.windows, (expr) => fill(template.overrideExpr, { ...names, account_id: workload.account, region: workload.region, expr }, 'overrideExpr').trimEnd(), template.runbookBase));
    }
  }
  const groups: RuleGroup[] = [];
  if (markers.length > 0) groups.push({ name: `${template.group}-overrides`, interval: '1m', rules: markers });
  groups.push({ name: template.group, rules });
  return groups;
}

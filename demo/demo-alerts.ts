/**
 * The demo's incident and the project's own rules evaluated on it: the recording rules of
 * lib/prometheus-workspace/*.rules.yaml and the alerts rendered from inferwatch.alerts.yaml, as the monitoring stack
 * deploys them to AMP, loaded into the demo's Prometheus. The alerts' `for` is cut to 0 s: the demo runs for minutes,
 * the holds are 10 to 30 minutes. Their expressions, windows and thresholds are the deployed ones.
 */
import { writeFileSync } from 'node:fs';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { DEFAULT_RULE_FILES, mergeRuleFiles } from '../lib/prometheus-workspace';
import { renderAlertGroups } from '../lib/prometheus-workspace/alert-rules';
import type { Scenario } from '../test/support/stand-ins/scenario';

const MINUTE_S = 60;

/** The demo's story: the incident started half an hour before the demo, and lasts another half hour. */
export function demoScenario(startedMs: number): Scenario {
  const started = Math.floor(startedMs / 60_000) * MINUTE_S;
  return {
    idleEndpoint: 'fleet-002',
    slowVariant: { endpoint: 'fleet-001', variant: 'AllTraffic' },
    latencyFactor: 50,
    failingVariant: { endpoint: 'churn-predictor', variant: 'green' },
    errorShare: 0.4,
    incident: { start: started - 30 * MINUTE_S, end: started + 30 * MINUTE_S },
  };
}

/** The story, as the demo's banner tells it. */
export function scenarioLines(scenario: Scenario): string {
  const { slowVariant: slow, failingVariant: failing } = scenario;
  const since = new Date(scenario.incident.start * 1000).toISOString().slice(11, 16);
  return [
    `  traffic             follows the time of day; ${scenario.idleEndpoint} is idle`,
    `  incident            since ${since} UTC: ${slow.endpoint}/${slow.variant} ${scenario.latencyFactor}x slower, ${failing.endpoint}/${failing.variant} answers ${scenario.errorShare * 100}% 5XX`,
  ].join('\n');
}

/** The alerts the incident must fire, by alert name and endpoint. */
export function expectedAlerts(scenario: Scenario): ReadonlyArray<{ alert: string; endpoint: string }> {
  return [
    { alert: 'SageMakerEndpointHigh5xxRatio', endpoint: scenario.failingVariant.endpoint },
    { alert: 'SageMakerModelLatencyP99High', endpoint: scenario.slowVariant.endpoint },
  ];
}

/** Writes the rules to `file` and returns the prometheus.yml that evaluates them every 15 s. */
export function rulesConfig(file: string): string {
  const merged = parseYaml(mergeRuleFiles(DEFAULT_RULE_FILES, renderAlertGroups())) as { groups: Array<{ rules: Array<Record<string, unknown>> }> };
  for (const group of merged.groups) for (const rule of group.rules) if ('alert' in rule) rule.for = '0s';
  writeFileSync(file, toYaml(merged, { lineWidth: 0 }));
  return `global:\n  scrape_interval: 1m\n  evaluation_interval: 15s\nrule_files:\n  - ${file}\nscrape_configs: []\n`;
}

export interface FiringAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly state: string;
}

export async function firingAlerts(prometheusUrl: string): Promise<FiringAlert[]> {
  const answer = (await (await fetch(`${prometheusUrl}/api/v1/alerts`)).json()) as { data: { alerts: FiringAlert[] } };
  return answer.data.alerts.filter((a) => a.state === 'firing');
}

/** Waits until every expected alert fires; returns all firing alerts, or throws naming the ones that did not. */
export async function waitForAlerts(prometheusUrl: string, expected: ReturnType<typeof expectedAlerts>, timeoutMs: number): Promise<FiringAlert[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const firing = await firingAlerts(prometheusUrl);
    const missing = expected.filter((e) => !firing.some((a) => a.labels.alertname === e.alert && a.labels.endpoint_name === e.endpoint));
    if (missing.length === 0) return firing;
    if (Date.now() > deadline) throw new Error(`the incident did not fire ${missing.map((m) => `${m.alert} for ${m.endpoint}`).join(', ')} within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** One block per firing alert: name, severity, summary, and its runbook (the annotation and the reference page). */
export function formatAlerts(alerts: readonly FiringAlert[]): string {
  return alerts
    .map((a) => `  🔥 ${a.labels.alertname} (${a.labels.severity}): ${a.annotations.summary}\n     runbook: ${a.annotations.runbook}\n     reference: docs/alerts.md (${a.labels.alertname})\n`)
    .join('');
}

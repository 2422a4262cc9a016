import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ALERTS_TEMPLATE, bridgeWindows, durationSeconds, loadAlertTemplate, renderAlertGroups } from '../../../lib/prometheus-workspace/alert-rules';

const work = mkdtempSync(join(tmpdir(), 'iw-alerts-'));
const project = parseYaml(readFileSync(ALERTS_TEMPLATE, 'utf8')) as { alerts: Array<Record<string, unknown>> };

/** The project's template with its first alert changed. */
function templateWith(change: Record<string, unknown>, extra: Array<Record<string, unknown>> = []): string {
  const file = join(work, `t-${Math.random().toString(36).slice(2)}.yaml`);
  const [first, ...rest] = project.alerts;
  writeFileSync(file, stringifyYaml({ ...project, alerts: [{ ...first, ...change }, ...rest, ...extra] }));
  return file;
}

describe('alert template', () => {
  test('the project template loads: every alert named once, with a severity and a hold time', () => {
    const template = loadAlertTemplate();
    expect(new Set(template.alerts.map((a) => a.alert)).size).toBe(template.alerts.length);
    expect(template.alerts.length).toBeGreaterThanOrEqual(20);
  });

  test.each([
    [{ severity: 'page' }, /alerts\.0\.severity/],
    [{ for: 'ten minutes' }, /alerts\.0\.for/],
    [{ threshold: { value: 0.05, unit: 'percent' } }, /alerts\.0\.threshold\.unit/],
    [{ threshold: undefined }, /alert SageMakerEndpointHigh5xxRatio uses \$\{threshold\} but has no threshold/],
    [{ labels: { team: 'ml' } }, /Unrecognized key/],
  ])('a broken template fails with the alert and the key named: %j', (change, message) => {
    expect(() => loadAlertTemplate(templateWith(change))).toThrow(message);
  });

  test('an alert defined twice, or a placeholder without a value, fails', () => {
    expect(() => loadAlertTemplate(templateWith({}, [project.alerts[0] as Record<string, unknown>]))).toThrow('alert SageMakerEndpointHigh5xxRatio is defined twice');
    const template = loadAlertTemplate(templateWith({ summary: 'ratio ${ratio}' }));
    expect(() => renderAlertGroups([], bridgeWindows(), template)).toThrow('${ratio} in alert SageMakerEndpointHigh5xxRatio has no value');
  });

  test('without overrides the alerts carry no marker group and no unless clause', () => {
    const groups = renderAlertGroups([]);
    expect(groups.map((g) => g.name)).toEqual(['inferwatch-alerts']);
    expect(JSON.stringify(groups)).not.toContain('inferwatch:alert_override:info');
  });

  test('windows for bridge data: 15m and 10m back for the default 5-minute schedule, wider for slower schedules', () => {
    expect(bridgeWindows()).toEqual({ window: '15m', offset: '10m' });
    // 15-minute schedule, 120 s settle, 60 s period: the newest batch is up to 18 minutes old when the next arrives.
    expect(bridgeWindows(15 * 60 + 180)).toEqual({ window: '25m', offset: '20m' });
    expect(bridgeWindows(60)).toEqual({ window: '15m', offset: '10m' });
  });

  test('Prometheus durations in seconds', () => {
    expect([durationSeconds('10m'), durationSeconds('1h30m'), durationSeconds('5d'), durationSeconds('500ms')]).toEqual([600, 5400, 432_000, 0.5]);
  });
});

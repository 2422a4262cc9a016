import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { defaultFleet, type FleetEndpoint } from '../support/stand-ins/fleet';
import { LocalPrometheus } from '../support/harness/prometheus';
import { runBridge } from '../support/harness/run-bridge';

const MINUTE = 60_000;
const ACCOUNT = '123456789012';

/** The shapes fleet, llm-hub and one of its components tagged, and an endpoint whose name has capitals (its ARN, as the tagging API spells it, has none). */
function fleet() {
  const base = defaultFleet('neuron_monitor', 0, { shapes: true });
  const tagged = (e: FleetEndpoint): FleetEndpoint =>
    e.name === 'llm-hub' ? { ...e, tags: { team: 'genai', 'cost-center': 'cc-42', owner: 'not-configured' }, componentTags: { 'llm-chat': { team: 'assistants' } } } : e;
  const scorer: FleetEndpoint = { name: 'Fraud-Scorer', tags: { team: 'risk' }, variants: [{ name: 'AllTraffic', instanceType: 'ml.m5.large', instances: 1, weight: 1 }] };
  return { ...base, endpoints: [...base.endpoints.map(tagged), scorer] };
}

describe('inference component copies and endpoint tags end to end: CLI -> stand-in -> real Prometheus', () => {
  const standIn = new AwsStandIn(fleet());
  const prometheus = new LocalPrometheus();
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-components-tags-'));
  const configFile = join(work, 'inferwatch.yaml');
  const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 120 * MINUTE;
  const t1 = t0 + 5 * MINUTE;
  const calls: Array<Record<string, number>> = [];
  let dryRun = '';

  const cycle = async (now: number) => {
    standIn.resetCounts();
    const run = await runBridge(['--once', '--config', configFile, '--state-dir', join(work, 'state'), '--now', String(now)], standIn.env());
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0, stderr: expect.stringContaining('wrote') as unknown });
    calls.push(Object.fromEntries(['ListInferenceComponents', 'DescribeInferenceComponent', 'GetResources'].map((a) => [a, standIn.counts.get(a) ?? 0])));
  };

  beforeAll(async () => {
    await standIn.start();
    await prometheus.start();
    writeFileSync(configFile, `accountId: "${ACCOUNT}"\nendpointTags: [team, cost-center]\nremoteWrite:\n  url: ${prometheus.remoteWriteUrl}\n`);
    const dry = await runBridge(['--dry-run', '--config', configFile, '--state-dir', join(work, 'dry'), '--now', String(t0)], standIn.env());
    expect(dry.code).toBe(0);
    dryRun = dry.stdout;
    await cycle(t0);
    // Autoscaling asks llm-chat for 4 copies; 3 are placed when the next cycle looks.
    standIn.componentsAndTags.setCopies('llm-chat', { desired: 4, current: 3 }, (t0 + 2 * MINUTE) / 1000);
    await cycle(t1);
  });

  afterAll(async () => {
    await prometheus.stop();
    await standIn.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const values = async (promql: string, at: number) =>
    Object.fromEntries((await prometheus.query(promql, at)).map((s) => [JSON.stringify({ ...s.metric }), s.value]));
  const key = (labels: Record<string, string>) => JSON.stringify(labels);

  test('copy counts per component, exact labels, as DescribeInferenceComponent answered each cycle', async () => {
    const copies = async (time: number) =>
      Object.fromEntries(
        (await prometheus.query('{__name__=~"aws_sagemaker_inference_component_(desired|current)_copies"}', time)).map((s) => {
          const { __name__: name, inference_component_name: component, ...rest } = s.metric;
          // Exactly the agreed labels: no variant, no status, no tags on the counts.
          expect(rest).toEqual({ account_id: ACCOUNT, region: 'us-east-2', endpoint_name: 'llm-hub' });
          return [`${String(name).replace('aws_sagemaker_inference_component_', '')} ${component}`, s.value];
        }),
      );
    expect(await copies(t0)).toEqual({ 'desired_copies llm-chat': 2, 'current_copies llm-chat': 2, 'desired_copies llm-embed': 2, 'current_copies llm-embed': 2 });
    expect(await copies(t1)).toEqual({ 'desired_copies llm-chat': 4, 'current_copies llm-chat': 3, 'desired_copies llm-embed': 2, 'current_copies llm-embed': 2 });
    // The alert's question: components with fewer copies than desired.
    const below = 'aws_sagemaker_inference_component_current_copies < on(account_id, region, endpoint_name, inference_component_name) aws_sagemaker_inference_component_desired_copies';
    expect((await prometheus.query(below, t1)).map((s) => [s.metric.inference_component_name, s.value])).toEqual([['llm-chat', 3]]);
    expect(await prometheus.query(below, t0)).toEqual([]);
  });

  test('the component _info series: endpoint, variant, status and its own tags', async () => {
    const info = await prometheus.query('aws_sagemaker_inference_component_info', t1);
    expect(info.map((s) => ({ ...s.metric })).sort((a, b) => String(a.inference_component_name).localeCompare(String(b.inference_component_name)))).toEqual([
      { __name__: 'aws_sagemaker_inference_component_info', account_id: ACCOUNT, region: 'us-east-2', endpoint_name: 'llm-hub', inference_component_name: 'llm-chat', variant_name: 'AllTraffic', inference_component_status: 'InService', tag_team: 'assistants' },
      { __name__: 'aws_sagemaker_inference_component_info', account_id: ACCOUNT, region: 'us-east-2', endpoint_name: 'llm-hub', inference_component_name: 'llm-embed', variant_name: 'AllTraffic', inference_component_status: 'InService' },
    ]);
  });

  test('endpoint tags on aws_sagemaker_endpoint_info, joined on the ARN whatever its case, usable with group_left', async () => {
    expect(await values('count by (endpoint_name, tag_team, tag_cost_center) (aws_sagemaker_endpoint_info{tag_team!=""})', t1)).toEqual({
      [key({ endpoint_name: 'Fraud-Scorer', tag_team: 'risk' })]: 1,
      [key({ endpoint_name: 'llm-hub', tag_cost_center: 'cc-42', tag_team: 'genai' })]: 1,
    });
    // Not configured, not a label.
    expect(await prometheus.query('aws_sagemaker_endpoint_info{tag_owner!=""}', t1)).toEqual([]);
    // Invocations by team: the idiomatic join of a CloudWatch series with the tags of its endpoint.
    const byTeam = await prometheus.query(
      'sum by (tag_team) (last_over_time(aws_sagemaker_invocations_total{inference_component_name=""}[30m]) * on(account_id, region, endpoint_name, variant_name) group_left(tag_team) aws_sagemaker_endpoint_info{tag_team!=""})',
      t1,
    );
    expect(byTeam.map((s) => s.metric.tag_team).sort()).toEqual(['risk']);
  });

  test('one ListInferenceComponents, DescribeInferenceComponent only for new and changed components, one GetResources for the fleet then none (cached in the state)', () => {
    expect(calls).toEqual([
      { ListInferenceComponents: 1, DescribeInferenceComponent: 2, GetResources: 1 },
      { ListInferenceComponents: 1, DescribeInferenceComponent: 1, GetResources: 0 },
    ]);
  });

  test('bridge --dry-run: HELP and TYPE for the new families, promtool check metrics passes', () => {
    for (const family of ['aws_sagemaker_inference_component_info', 'aws_sagemaker_inference_component_desired_copies', 'aws_sagemaker_inference_component_current_copies']) {
      expect(dryRun).toContain(`# TYPE ${family} gauge\n`);
      expect(dryRun).toMatch(new RegExp(`^# HELP ${family} .*DescribeInferenceComponent`, 'm'));
    }
    expect(dryRun).toMatch(/^aws_sagemaker_endpoint_info\{.*endpoint_name="Fraud-Scorer".*tag_team="risk".*\} 1/m);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: dryRun, encoding: 'utf8' });
    expect({ status: promtool.status, out: promtool.stdout + promtool.stderr }).toEqual({ status: 0, out: '' });
  });
  test('a deleted inference component ends at once: staleness markers for its copies and _info, then for its CloudWatch series', async () => {
    const deletedAt = t1 + MINUTE;
    standIn.deleteInferenceComponent('llm-embed', deletedAt);
    const lastSample = async (selector: string, at: number) => (await prometheus.rawSamples(`${selector}[3h]`, at))[0]?.values.at(-1)?.[0];
    const present = async (selector: string, at: number) => (await prometheus.query(selector, at)).length > 0;

    const t2 = t1 + 5 * MINUTE;
    await cycle(t2);
    // The cycle that sees it gone ends its SageMaker series one period after their last sample; llm-chat goes on.
    const copies = await lastSample('aws_sagemaker_inference_component_current_copies{inference_component_name="llm-embed"}', t2);
    expect(copies).toBeDefined();
    expect(await present('aws_sagemaker_inference_component_current_copies{inference_component_name="llm-embed"}', (copies as number) + MINUTE + 1000)).toBe(false);
    expect(await present('aws_sagemaker_inference_component_info{inference_component_name="llm-embed"}', (copies as number) + MINUTE + 1000)).toBe(false);
    expect(await present('aws_sagemaker_inference_component_current_copies{inference_component_name="llm-chat"}', (copies as number) + MINUTE + 1000)).toBe(true);

    const t3 = t2 + 5 * MINUTE;
    await cycle(t3);
    // Its CloudWatch series, still listed by ListMetrics with no new data, end one period after their last sample.
    for (const family of ['aws_sagemaker_invocations_per_copy_total', 'aws_sagemaker_inference_component_cpu_utilization_ratio']) {
      const last = await lastSample(`${family}{inference_component_name="llm-embed"}`, t3);
      expect(last).toBeLessThan(deletedAt);
      expect(await present(`${family}{inference_component_name="llm-embed"}`, (last as number) + 1000)).toBe(true);
      expect(await present(`${family}{inference_component_name="llm-embed"}`, (last as number) + MINUTE + 1000)).toBe(false);
      expect(await present(`${family}{inference_component_name="llm-chat"}`, (last as number) + MINUTE + 1000)).toBe(true);
    }
  });
});

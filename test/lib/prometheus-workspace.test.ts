import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_RULE_FILES, mergeRuleFiles, PrometheusWorkspace, type PrometheusWorkspaceProps } from '../../lib/prometheus-workspace';
import { durationSeconds, humanThreshold, loadAlertTemplate } from '../../lib/prometheus-workspace/alert-rules';
import { defaultRuleTimings } from '../../lib/prometheus-workspace/rule-timings';
import { CatalogMetricSchema } from '../../contract/catalog-schema';
import { DEFAULT_SOURCE_TIMINGS, DEFAULT_WORKLOAD_READS, sourceTimings } from '../../lib/prometheus-workspace/series-sources';
import { freePort } from '../support/harness/prometheus';

function synth(withKey: boolean) {
  const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  const key = withKey ? new kms.Key(stack, 'Key', { enableKeyRotation: true }) : undefined;
  const workspace = new PrometheusWorkspace(stack, 'Prometheus', { alias: 'prod', encryptionKey: key, alertEmails: ['ops@example.com'], logRetention: logs.RetentionDays.THREE_MONTHS });
  return { template: Template.fromStack(stack), workspace, stack };
}

const work = mkdtempSync(join(tmpdir(), 'iw-amp-'));
const RULES_DIR = join(__dirname, '../../lib/prometheus-workspace');

/** The rule groups namespace as synthesized. */
function namespaceData(props: PrometheusWorkspaceProps = {}): string {
  const stack = new Stack(new App(), 'Rules', { env: { account: '111111111111', region: 'eu-west-1' } });
  new PrometheusWorkspace(stack, 'Prometheus', props);
  return Object.values(Template.fromStack(stack).findResources('AWS::APS::RuleGroupsNamespace'))[0]?.Properties.Data as string;
}

/** Runs a promtool test file of lib/prometheus-workspace against `data`, written beside a copy of it as the file it names. */
function promtoolTest(testFile: string, data: string): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(work, 'unit-'));
  writeFileSync(join(dir, 'inferwatch.namespace.yaml'), data);
  copyFileSync(join(RULES_DIR, testFile), join(dir, testFile));
  const unit = spawnSync('promtool', ['test', 'rules', join(dir, testFile)], { encoding: 'utf8' });
  return { ok: unit.status === 0, output: unit.stdout + unit.stderr };
}

/** The alert manager definition as synthesized, with the topic and region filled in as CloudFormation would. */
function renderedAlertmanager(): string {
  const { template } = synth(false);
  const definition = Object.values(template.findResources('AWS::APS::Workspace'))[0]?.Properties.AlertManagerDefinition as { 'Fn::Sub': [string, Record<string, unknown>] };
  const [text, variables] = definition['Fn::Sub'];
  expect(Object.keys(variables).sort()).toEqual(['ALERT_TOPIC_ARN', 'REGION']);
  const rendered = text.replace('${ALERT_TOPIC_ARN}', 'arn:aws:sns:eu-west-1:111111111111:alerts').replace('${REGION}', 'eu-west-1');
  const file = join(work, 'alertmanager.yml');
  writeFileSync(file, (parseYaml(rendered) as { alertmanager_config: string }).alertmanager_config);
  return file;
}

interface PromtoolTests {
  tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }>; promql_expr_test?: Array<{ expr: string }> }>;
}

const OVERRIDES = [
  { account: '222222222222', region: 'eu-west-1', alerts: { SageMakerModelLatencyP99High: { threshold: 2, severity: 'critical' as const, for: '10m' }, SageMakerEndpointHigh5xxRatio: { enabled: false }, SageMakerLlmTimeToFirstTokenP99High: { threshold: 5 } } },
];

describe('PrometheusWorkspace', () => {
  test('series limits per label set and retention go into the workspace configuration (CloudFormation, no custom resource)', () => {
    const stack = new Stack(new App(), 'Limits', { env: { account: '111111111111', region: 'eu-west-1' } });
    new PrometheusWorkspace(stack, 'Prometheus', {
      seriesLimits: [
        { labels: { account_id: '222222222222' }, maxSeries: 17_000 },
        { labels: { account_id: '333333333333' }, maxSeries: 0 },
      ],
      retentionDays: 400,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::APS::Workspace', {
      WorkspaceConfiguration: {
        LimitsPerLabelSets: [
          { LabelSet: [{ Name: 'account_id', Value: '222222222222' }], Limits: { MaxSeries: 17000 } },
          { LabelSet: [{ Name: 'account_id', Value: '333333333333' }], Limits: { MaxSeries: 0 } },
        ],
        RetentionPeriodInDays: 400,
      },
    });
    template.resourceCountIs('AWS::CloudFormation::CustomResource', 0);
    expect(Object.values(synth(false).template.findResources('AWS::APS::Workspace'))[0]?.Properties.WorkspaceConfiguration).toBeUndefined();
  });

  test.each([
    [{ seriesLimits: [{ labels: {}, maxSeries: 1 }] }, 'seriesLimits[0].labels is empty'],
    [{ seriesLimits: [{ labels: { 'account-id': '1' }, maxSeries: 1 }] }, '"account-id" is not a Prometheus label name'],
    [{ seriesLimits: [{ labels: { account_id: ' ' }, maxSeries: 1 }] }, 'seriesLimits[0].labels.account_id is empty'],
    [{ seriesLimits: [{ labels: { account_id: '1' }, maxSeries: -5 }] }, 'seriesLimits[0].maxSeries must be a whole number from 0'],
    [{ seriesLimits: [{ labels: { a: '1', b: '2' }, maxSeries: 1 }, { labels: { b: '2', a: '1' }, maxSeries: 2 }] }, 'seriesLimits[1] repeats the label set'],
    [{ retentionDays: 0 }, 'retentionDays must be a whole number from 1 to 1095'],
  ])('conflicting or impossible limits throw: %j', (props, message) => {
    const stack = new Stack(new App(), 'Bad');
    expect(() => new PrometheusWorkspace(stack, 'Prometheus', props)).toThrow(message);
  });

  test('workspace with alias, customer key and logging to a log group with retention', () => {
    const { template } = synth(true);
    template.hasResourceProperties('AWS::APS::Workspace', {
      Alias: 'prod',
      KmsKeyArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] },
      LoggingConfiguration: { LogGroupArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PrometheusLogs'), 'Arn'] } },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } });
    // The key lets CloudWatch Logs of this account and region use it, or the log group would not deploy.
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'AllowCloudWatchLogs', Principal: { Service: 'logs.eu-west-1.amazonaws.com' }, Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': Match.anyValue() } } })]) },
    });
  });

  test('alerts go to an encrypted SNS topic that only AMP of this account may publish to, with email subscriptions', () => {
    const { template } = synth(false);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PrometheusAlertsKey'), 'Arn'] } });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Sid: 'AllowApsPublish', Principal: { Service: 'aps.amazonaws.com' }, Action: ['sns:Publish', 'sns:GetTopicAttributes'], Condition: { StringEquals: { 'aws:SourceAccount': '111111111111' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    const withKey = synth(true).template;
    withKey.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'AllowApsToEncryptAlerts', Principal: { Service: 'aps.amazonaws.com' } })]) },
    });
  });

  test('the alert manager definition passes amtool check-config once rendered, and routes by alert and endpoint to SNS', () => {
    const file = renderedAlertmanager();
    const check = spawnSync('amtool', ['check-config', file], { encoding: 'utf8' });
    expect(check.stdout + check.stderr).toContain('SUCCESS');
    expect(check.status).toBe(0);
    const config = parseYaml(readFileSync(file, 'utf8')) as { route: { group_by: string[]; repeat_interval: string }; receivers: Array<Record<string, unknown>> };
    expect(config.route.group_by).toEqual(['alertname', 'account_id', 'region', 'endpoint_name']);
    // AMP treats a repeat_interval above five days as five days.
    expect(durationSeconds(config.route.repeat_interval)).toBeLessThanOrEqual(5 * 86_400);
    // AMP accepts SNS receivers only.
    for (const receiver of config.receivers) expect(Object.keys(receiver).filter((k) => k.endsWith('_configs'))).toEqual(['sns_configs']);
    const route = spawnSync('amtool', ['config', 'routes', 'test', `--config.file=${file}`, '--verify.receivers=sns', 'alertname=SageMakerModelLatencyP99High', 'endpoint_name=churn'], { encoding: 'utf8' });
    expect(route.stdout.trim()).toBe('sns');
    expect(route.status).toBe(0);
  });

  test('a real Alertmanager with the definition holds back the latency and error alerts of an endpoint that is not InService', async () => {
    const file = renderedAlertmanager();
    const port = await freePort();
    const storage = mkdtempSync(join(work, 'am-'));
    const am = spawn('prometheus-alertmanager', [`--config.file=${file}`, `--storage.path=${storage}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn'], { stdio: 'ignore' });
    const url = `http://127.0.0.1:${port}/api/v2/alerts`;
    try {
      for (let i = 0; i < 100; i++) {
        if (await fetch(`http://127.0.0.1:${port}/-/ready`).then((r) => r.ok, () => false)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const where = { account_id: '111111111111', region: 'us-east-1' };
      const alert = (labels: Record<string, string>) => ({ labels: { ...where, severity: 'warning', ...labels }, startsAt: new Date().toISOString() });
      const sent = [
        alert({ alertname: 'SageMakerEndpointNotInService', endpoint_name: 'broken', endpoint_status: 'Failed' }),
        alert({ alertname: 'SageMakerEndpointHigh5xxRatio', endpoint_name: 'broken' }),
        alert({ alertname: 'SageMakerModelLatencyP99High', endpoint_name: 'broken', variant_name: 'AllTraffic', quantile: '0.99' }),
        alert({ alertname: 'SageMakerEndpointHighModelErrorRatio', endpoint_name: 'broken' }),
        alert({ alertname: 'SageMakerLlmTimeToFirstTokenP99High', endpoint_name: 'broken', inference_component_name: 'llama', quantile: '0.99' }),
        // Capacity is not an effect of the endpoint's status: it still tells.
        alert({ alertname: 'SageMakerInsufficientCapacityErrors', endpoint_name: 'broken' }),
        // Another endpoint, and the same name in another account: not held back.
        alert({ alertname: 'SageMakerEndpointHigh5xxRatio', endpoint_name: 'fine' }),
        { ...alert({ alertname: 'SageMakerModelLatencyP99High', endpoint_name: 'broken', variant_name: 'AllTraffic', quantile: '0.99' }), labels: { ...where, account_id: '222222222222', alertname: 'SageMakerModelLatencyP99High', endpoint_name: 'broken', severity: 'warning' } },
        // A state alert of the endpoint that is down is not an effect of it.
        alert({ alertname: 'SageMakerVariantBelowDesiredInstances', endpoint_name: 'broken', variant_name: 'AllTraffic' }),
        alert({ alertname: 'InferwatchBridgeSilent', account_id: '333333333333' }),
        alert({ alertname: 'SageMakerEndpointNoData', account_id: '333333333333', endpoint_name: 'quiet' }),
        alert({ alertname: 'SageMakerEndpointNoData', endpoint_name: 'quiet' }),
      ];
      const post = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sent) });
      expect(post.status).toBe(200);
      const key = (a: { labels: Record<string, string> }) => `${a.labels.alertname} ${a.labels.account_id} ${a.labels.endpoint_name ?? ''}`;
      let states: Record<string, string> = {};
      for (let i = 0; i < 50; i++) {
        const got = (await (await fetch(url)).json()) as Array<{ labels: Record<string, string>; status: { state: string } }>;
        states = Object.fromEntries(got.map((a) => [key(a), a.status.state]));
        if (Object.keys(states).length === sent.length && states['SageMakerEndpointHigh5xxRatio 111111111111 broken'] === 'suppressed') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(states).toEqual({
        'SageMakerEndpointNotInService 111111111111 broken': 'active',
        'SageMakerEndpointHigh5xxRatio 111111111111 broken': 'suppressed',
        'SageMakerModelLatencyP99High 111111111111 broken': 'suppressed',
        'SageMakerEndpointHighModelErrorRatio 111111111111 broken': 'suppressed',
        'SageMakerLlmTimeToFirstTokenP99High 111111111111 broken': 'suppressed',
        'SageMakerInsufficientCapacityErrors 111111111111 broken': 'active',
        'SageMakerEndpointHigh5xxRatio 111111111111 fine': 'active',
        'SageMakerModelLatencyP99High 222222222222 broken': 'active',
        'SageMakerVariantBelowDesiredInstances 111111111111 broken': 'active',
        'InferwatchBridgeSilent 333333333333 ': 'active',
        'SageMakerEndpointNoData 333333333333 quiet': 'suppressed',
        'SageMakerEndpointNoData 111111111111 quiet': 'active',
      });
    } finally {
      am.kill('SIGTERM');
    }
  });

  test('the rule groups namespace holds the project rules, valid for promtool, and their unit tests pass', () => {
    const data = namespaceData();
    const file = join(work, 'rules.yml');
    writeFileSync(file, data);
    const check = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    expect(check.stdout).toMatch(/SUCCESS: \d+ rules found/);
    expect(check.stdout + check.stderr).not.toMatch(/WARNING|FAILED/);
    const unit = promtoolTest('inferwatch.rules.test.yaml', data);
    expect(unit.output).toContain('SUCCESS');
    expect(unit.ok).toBe(true);
  });

  test('the unit tests cover every alert firing and quiet, and every recording rule', () => {
    const tests = (parseYaml(readFileSync(join(RULES_DIR, 'inferwatch.rules.test.yaml'), 'utf8')) as PromtoolTests).tests;
    const alertTests = tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert } of loadAlertTemplate().alerts) {
      const mine = alertTests.filter((t) => t.alertname === alert);
      expect({ alert, fires: mine.some((t) => (t.exp_alerts ?? []).length > 0), quiet: mine.some((t) => (t.exp_alerts ?? []).length === 0) }).toEqual({ alert, fires: true, quiet: true });
    }
    const exprs = tests.flatMap((t) => t.promql_expr_test ?? []).map((t) => t.expr);
    const recorded = (parseYaml(readFileSync(DEFAULT_RULE_FILES[0] as string, 'utf8')) as { groups: Array<{ rules: Array<{ record?: string }> }> }).groups.flatMap((g) => g.rules.map((r) => r.record));
    for (const record of new Set(recorded)) expect({ record, tested: exprs.some((e) => e.startsWith(record as string)) }).toEqual({ record, tested: true });
  });

  test('every alert has a hold time, a severity, a summary, a description and a runbook', () => {
    const groups = (parseYaml(namespaceData({ workloadAlerts: OVERRIDES })) as { groups: Array<{ rules: Array<Record<string, unknown>> }> }).groups;
    const alerts = groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
    expect(alerts.length).toBeGreaterThanOrEqual(loadAlertTemplate().alerts.length);
    const anchored = new Set(loadAlertTemplate().alerts.filter((a) => a.runbookAnchor !== undefined).map((a) => a.alert));
    for (const rule of alerts) {
      const { labels, annotations } = rule as { labels: Record<string, string>; annotations: Record<string, string> };
      expect({ alert: rule.alert, for: typeof rule.for, severity: labels.severity, annotations: Object.keys(annotations).sort() }).toEqual({
        alert: rule.alert,
        for: 'string',
        severity: expect.stringMatching(/^(critical|warning|info)$/),
        annotations: anchored.has(rule.alert as string) ? ['description', 'runbook', 'runbook_url', 'summary'] : ['description', 'runbook', 'summary'],
      });
      expect(JSON.stringify(rule)).not.toContain('${');
    }
  });

  test('a workload\'s own thresholds, severities and hold times replace the defaults for it alone, without double firing (promtool)', () => {
    const data = namespaceData({ workloadAlerts: OVERRIDES });
    const unit = promtoolTest('inferwatch.overrides.test.yaml', data);
    expect(unit.output).toContain('SUCCESS');
    expect(unit.ok).toBe(true);
  });

  test('with a 15-minute schedule the windows widen, and a batch still counts until the next one lands (promtool)', () => {
    const data = namespaceData({ seriesTimings: sourceTimings({ ...DEFAULT_WORKLOAD_READS, scheduleSeconds: 15 * 60 }) });
    expect(data).toContain('[25m] offset 20m');
    const unit = promtoolTest('inferwatch.schedule.test.yaml', data);
    expect(unit.output).toContain('SUCCESS');
    expect(unit.ok).toBe(true);
    // The default windows would not hold: the rate reads low and the instance alert lapses between batches.
    const narrow = promtoolTest('inferwatch.schedule.test.yaml', namespaceData());
    expect(narrow.output).toContain('endpoint:aws_sagemaker_invocations:rate15m');
    expect(narrow.output).toContain('SageMakerVariantBelowDesiredInstances');
    expect(narrow.ok).toBe(false);
    expect(() => namespaceData({ seriesTimings: { ...DEFAULT_SOURCE_TIMINGS, latency: { everySeconds: 0, lagSeconds: 780 } } })).toThrow('seriesTimings.latency.everySeconds must be a positive number of seconds');
  });

  describe('each rule\'s windows and each alert\'s hold time follow the slowest class it reads', () => {
    type Rule = { record?: string; alert?: string; expr: string; for?: string; labels?: Record<string, string> };
    const rulesOf = (data: string) => (parseYaml(data) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
    const timed = (intervals: Partial<Record<'counters' | 'latency' | 'utilization' | 'other', number>>) =>
      namespaceData({ seriesTimings: sourceTimings({ ...DEFAULT_WORKLOAD_READS, readIntervals: { ...DEFAULT_WORKLOAD_READS.readIntervals, ...intervals } }) });
    const recorded = (data: string, record: string) => rulesOf(data).find((r) => r.record === record && (r.labels?.quantile ?? '0.99') === '0.99')?.expr ?? '';
    const alert = (data: string, name: string) => rulesOf(data).find((r) => r.alert === name) as Rule;
    const ERRORS = 'endpoint:aws_sagemaker_invocation_5xx_errors:ratio_rate15m';
    const LATENCY = 'endpoint:aws_sagemaker_model_latency_seconds:quantile15m';
    const RATE = 'endpoint:aws_sagemaker_invocations:rate15m';

    test('with the default intervals, the error ratio (counters, every cycle) reads a shorter window than the latency quantile (every 10 minutes)', () => {
      const data = namespaceData();
      expect(recorded(data, ERRORS)).toContain('[15m]');
      expect(recorded(data, LATENCY)).toContain('[20m]');
      expect(recorded(data, LATENCY)).not.toContain('[15m]');
      expect(recorded(data, RATE)).toContain('[15m] offset 10m');
      // The mean reads _sum and _count, timings too; the mid-stream ratio divides counters by a timing's _count.
      expect(recorded(data, 'endpoint:aws_sagemaker_model_latency_seconds:mean15m')).toContain('[20m]');
      expect(recorded(data, 'endpoint:aws_sagemaker_mid_stream_errors:ratio_rate15m')).toContain('[20m]');
      // Instance metrics are utilization, read every 10 minutes; the metadata is written every cycle.
      expect(alert(data, 'SageMakerEndpointNoData').expr).toContain('[20m]');
      expect(alert(data, 'SageMakerVariantBelowDesiredInstances').expr).toContain('[15m]');
      expect(alert(data, 'SageMakerModelLatencyP99High').for).toBe('15m');
    });

    test('with every class read every cycle, the error ratio and the latency quantile read the same window', () => {
      const data = timed({ latency: 0, utilization: 0 });
      expect(recorded(data, ERRORS)).toContain('[15m]');
      expect(recorded(data, LATENCY)).toContain('[15m]');
      expect(recorded(data, LATENCY)).not.toContain('[20m]');
    });

    test('latencies read every 30 minutes lengthen the latency rules and alerts alone', () => {
      const base = rulesOf(namespaceData());
      const slow = rulesOf(timed({ latency: 1800 }));
      expect(slow.map((r) => r.record ?? r.alert)).toEqual(base.map((r) => r.record ?? r.alert));
      const changed = slow.filter((r, i) => JSON.stringify(r) !== JSON.stringify(base[i])).map((r) => r.record ?? r.alert);
      expect(new Set(changed)).toEqual(
        new Set([
          'endpoint_variant:aws_sagemaker_model_latency_seconds:quantile15m',
          'endpoint:aws_sagemaker_model_latency_seconds:quantile15m',
          'inference_component:aws_sagemaker_model_latency_seconds:quantile15m',
          'account_region:aws_sagemaker_model_latency_seconds:quantile15m',
          'fleet:aws_sagemaker_model_latency_seconds:quantile15m',
          'endpoint_variant:aws_sagemaker_model_latency_seconds:mean15m',
          'endpoint:aws_sagemaker_model_latency_seconds:mean15m',
          'inference_component:aws_sagemaker_model_latency_seconds:mean15m',
          'endpoint_variant:aws_sagemaker_first_chunk_latency_seconds:quantile15m',
          'endpoint:aws_sagemaker_first_chunk_latency_seconds:quantile15m',
          'endpoint_variant:aws_sagemaker_mid_stream_errors:ratio_rate15m',
          'endpoint:aws_sagemaker_mid_stream_errors:ratio_rate15m',
          'SageMakerModelLatencyP99High',
          'SageMakerEndpointHighMidStreamErrorRatio',
        ]),
      );
      // 1800 s + settle + period trails by 1980 s: 40-minute windows; the alert holds across two reads, 30 minutes.
      const data = timed({ latency: 1800 });
      expect(recorded(data, LATENCY)).toContain('[40m]');
      expect(recorded(data, ERRORS)).toContain('[15m]');
      expect(alert(data, 'SageMakerModelLatencyP99High').for).toBe('30m');
      expect(alert(data, 'SageMakerEndpointHighMidStreamErrorRatio').for).toBe('30m');
      expect(alert(data, 'SageMakerEndpointHigh5xxRatio').for).toBe('10m');
    });

    test('a hold time shorter than the interval of the data is raised; a workload\'s own is refused, naming the alert, the workload and the minimum', () => {
      // The ECC alert reads the bridge's copy of the counter too (every 5-minute cycle): its 1m becomes 5m.
      expect(alert(namespaceData(), 'NeuronUncorrectedEccEvents').for).toBe('5m');
      const short = [{ account: '222222222222', region: 'eu-west-1', alerts: { SageMakerModelLatencyP99High: { for: '5m' } } }];
      expect(() => namespaceData({ workloadAlerts: short })).toThrow(
        'alert SageMakerModelLatencyP99High of workload 222222222222/eu-west-1: for 5m is shorter than 10m, how often the data it reads is written (latency (written every 10m))',
      );
      // The workload's own timings decide its floor: one that reads latencies every cycle may hold for 5 minutes.
      const own = [{ ...short[0]!, timings: sourceTimings({ ...DEFAULT_WORKLOAD_READS, readIntervals: { ...DEFAULT_WORKLOAD_READS.readIntervals, latency: 0 } }) }];
      expect(rulesOf(namespaceData({ workloadAlerts: own })).filter((r) => r.alert === 'SageMakerModelLatencyP99High').map((r) => r.for)).toEqual(['15m', '5m']);
    });

    test('a rule with ${window} over a series no source writes is a synth-time error naming the rule; one with fixed windows is left alone', () => {
      const own = join(work, 'unknown.rules.yaml');
      writeFileSync(own, 'groups:\n  - name: own\n    rules:\n      - record: job:nv_inference_count:rate15m\n        expr: sum(rate(nv_inference_count[${window}]))\n');
      expect(() => namespaceData({ ruleFiles: [...DEFAULT_RULE_FILES, own] })).toThrow(
        "rule job:nv_inference_count:rate15m reads nv_inference_count, which neither the bridge's catalog nor the PromQL source",
      );
      writeFileSync(own, 'groups:\n  - name: own\n    rules:\n      - record: job:nv_inference_count:rate5m\n        expr: sum(rate(nv_inference_count[5m]))\n');
      expect(recorded(namespaceData({ ruleFiles: [...DEFAULT_RULE_FILES, own] }), 'job:nv_inference_count:rate5m')).toBe('sum(rate(nv_inference_count[5m]))');
      // A metric the workloads add to the catalog has a class: its rule gets that class's windows.
      writeFileSync(own, 'groups:\n  - name: own\n    rules:\n      - record: job:aws_sagemaker_custom_seconds:quantile\n        expr: max(last_over_time(aws_sagemaker_custom_seconds{quantile="0.99"}[${window}]))\n');
      const catalog = [{ namespace: 'AWS/SageMaker', labels: {}, metrics: [CatalogMetricSchema.parse({ metric: 'Custom', type: 'summary', name: 'aws_sagemaker_custom_seconds' })] }];
      expect(recorded(namespaceData({ ruleFiles: [...DEFAULT_RULE_FILES, own], catalog }), 'job:aws_sagemaker_custom_seconds:quantile')).toContain('[20m]');
    });
  });

  test.each([
    [{ account: '12345', region: 'eu-west-1', alerts: {} }, 'workloadAlerts[0].account "12345" is not a 12-digit AWS account id'],
    [{ account: '222222222222', region: 'Europe', alerts: {} }, 'workloadAlerts[0].region "Europe" is not an AWS region'],
    [{ account: '222222222222', region: 'eu-west-1', alerts: { NoSuchAlert: {} } }, 'workloadAlerts[0].alerts.NoSuchAlert is not an inferwatch alert'],
    [{ account: '222222222222', region: 'eu-west-1', alerts: { SageMakerEndpointNotInService: { threshold: 1 } } }, 'alerts.SageMakerEndpointNotInService.threshold SageMakerEndpointNotInService has no threshold'],
    [{ account: '222222222222', region: 'eu-west-1', alerts: { SageMakerEndpointHigh5xxRatio: { threshold: 5 } } }, 'alerts.SageMakerEndpointHigh5xxRatio.threshold is a ratio from 0 to 1'],
    [{ account: '222222222222', region: 'eu-west-1', alerts: { InferwatchBridgeSilent: { threshold: 90.5 } } }, 'alerts.InferwatchBridgeSilent.threshold is a window in whole seconds'],
  ])('impossible alert settings throw, naming the key: %j', (workload, message) => {
    const stack = new Stack(new App(), 'BadAlerts');
    expect(() => new PrometheusWorkspace(stack, 'Prometheus', { workloadAlerts: [workload] })).toThrow(message);
  });

  test('rule files that leave out the recording rules the alerts read throw, naming the rule', () => {
    const own = join(work, 'own.rules.yaml');
    writeFileSync(own, 'groups:\n  - name: own\n    rules:\n      - record: x:y:z\n        expr: vector(1)\n');
    expect(() => new PrometheusWorkspace(new Stack(new App(), 'OwnRules'), 'Prometheus', { ruleFiles: [own] })).toThrow(
      'PrometheusWorkspace: SageMakerEndpointHigh5xxRatio reads the recording rule endpoint:aws_sagemaker_invocation_5xx_errors:ratio_rate15m, which no rule file records',
    );
    expect(() => new PrometheusWorkspace(new Stack(new App(), 'MoreRules'), 'Prometheus', { ruleFiles: [...DEFAULT_RULE_FILES, own] })).not.toThrow();
  });

  test('one workload, one set of alert settings', () => {
    const stack = new Stack(new App(), 'TwiceAlerts');
    const workload = { account: '222222222222', region: 'eu-west-1', alerts: {} };
    expect(() => new PrometheusWorkspace(stack, 'Prometheus', { workloadAlerts: [workload, workload] })).toThrow('workloadAlerts[1] repeats the workload 222222222222/eu-west-1');
  });

  test('thresholds read as people write them', () => {
    expect([humanThreshold(0.05, 'ratio'), humanThreshold(0.001, 'ratio'), humanThreshold(1800, 'seconds'), humanThreshold(7200, 'seconds'), humanThreshold(90, 'seconds'), humanThreshold(0.1, 'seconds'), humanThreshold(10, 'count')]).toEqual(['5%', '0.1%', '30m', '2h', '90s', '100ms', '10']);
  });

  test('docs/alerts.md lists every alert with its default threshold, severity and hold time', () => {
    const readme = readFileSync(join(__dirname, '../../docs/alerts.md'), 'utf8');
    for (const alert of loadAlertTemplate().alerts) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${alert.alert}\` |`));
      const threshold = alert.threshold ? humanThreshold(alert.threshold.value, alert.threshold.unit) : '—';
      expect({ alert: alert.alert, row: row?.split(' | ').slice(1, 4) }).toEqual({ alert: alert.alert, row: [threshold, alert.severity, alert.for] });
    }
  });

  test('docs/alerts.md says what each alert reads and the hold time it is rendered with under the default intervals', () => {
    const page = readFileSync(join(__dirname, '../../docs/alerts.md'), 'utf8');
    const timings = defaultRuleTimings();
    const rendered = (parseYaml(namespaceData()) as { groups: Array<{ rules: Array<{ alert?: string; for?: string }> }> }).groups.flatMap((g) => g.rules);
    const words: Record<string, string> = { cycle: 'every cycle' };
    for (const alert of loadAlertTemplate().alerts) {
      const row = page.split('\n').find((line) => line.startsWith(`| \`${alert.alert}\` |`));
      const sources = [...timings.timingOf(alert.expr, alert.alert).sources].map((s) => words[s] ?? s).join(', ');
      expect({ alert: alert.alert, row: row?.split(' | ').slice(4, 6) }).toEqual({ alert: alert.alert, row: [sources, rendered.find((r) => r.alert === alert.alert)?.for] });
    }
  });

  test('every runbook_url points at a section of docs/alerts.md, and the LLM serving alerts all have one', () => {
    const page = readFileSync(join(__dirname, '../../docs/alerts.md'), 'utf8');
    // GitHub's heading anchors: lower case, punctuation but hyphens dropped, spaces to hyphens.
    const anchors = new Set([...page.matchAll(/^#+ (.+)$/gm)].map((m) => (m[1] as string).toLowerCase().replace(/[^\w\s-]/g, '').trim().replace(/\s/g, '-')));
    const groups = (parseYaml(namespaceData()) as { groups: Array<{ rules: Array<{ alert?: string; annotations?: Record<string, string> }> }> }).groups;
    const urls = groups.flatMap((g) => g.rules).flatMap((r) => (r.annotations?.runbook_url === undefined ? [] : [{ alert: r.alert, url: r.annotations.runbook_url }]));
    expect(urls.map((u) => u.alert)).toEqual(expect.arrayContaining(['SageMakerLlmTimeToFirstTokenP99High', 'SageMakerLlmRequestQueueGrowing', 'SageMakerLlmKvCacheNearFull', 'SageMakerGpuMemoryPressure', 'SageMakerInsufficientCapacityErrors', 'SageMakerScalingTooSlow']));
    for (const { alert, url } of urls) {
      const [file, anchor] = url.split('#');
      expect({ alert, page: file, anchorFound: anchors.has(anchor as string) }).toEqual({ alert, page: 'docs/alerts.md', anchorFound: true });
    }
  });

  test('several rule files merge into one namespace', () => {
    const extra = join(work, 'extra.rules.yaml');
    writeFileSync(extra, '# team rules\ngroups:\n  - name: team\n    rules:\n      - record: x:y:z\n        expr: vector(1)\n');
    const merged = parseYaml(mergeRuleFiles([...DEFAULT_RULE_FILES, extra])) as { groups: Array<{ name: string }> };
    expect(merged.groups.map((g) => g.name)).toEqual(['inferwatch-recording', 'inferwatch-neuron', 'inferwatch-model-server', 'inferwatch-llm', 'team']);
    writeFileSync(join(work, 'bad.yaml'), 'rules: []\n');
    expect(() => mergeRuleFiles([join(work, 'bad.yaml')])).toThrow(/does not start with a top-level "groups:" list/);
    expect(() => mergeRuleFiles([extra, extra])).toThrow('rule group "team" is defined twice');
    const long = join(work, 'long.rules.yaml');
    writeFileSync(long, `groups:\n  - name: ${'g'.repeat(712)}\n    rules: []\n`);
    expect(() => mergeRuleFiles([long])).toThrow('AMP allows 721 bytes for namespace and group name together');
  });

  test('outputs are named WorkspaceId, RemoteWriteUrl and QueryUrl, as the README promises', () => {
    const { template } = synth(false);
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs).sort()).toEqual(['QueryUrl', 'RemoteWriteUrl', 'WorkspaceId']);
    expect(outputs.WorkspaceId?.Value).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^PrometheusWorkspace/), 'WorkspaceId'] });
    expect(JSON.stringify(outputs.RemoteWriteUrl?.Value)).toContain('api/v1/remote_write');
    expect(JSON.stringify(outputs.QueryUrl?.Value)).toContain('api/v1/query');
  });
});

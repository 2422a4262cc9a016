import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../../../contract/errors';
import { loadInferwatchConfig, parseInferwatchConfig, workloadTimings } from '../../../lib/config/inferwatch-config';
import { buildInferwatch } from '../../../lib/inferwatch-app';

describe('rollout config', () => {
  test('zero config: one monitoring stack and one bridge in the same account, 5-minute schedule', () => {
    const config = parseInferwatchConfig(undefined);
    expect(config).toMatchObject({
      stackPrefix: 'Inferwatch',
      logRetentionDays: 30,
      monitoring: { workspaceAlias: 'inferwatch', customerManagedKey: true, alertEmails: [] },
      workloads: [{ bridge: { scheduleMinutes: 5, shards: 1, memoryMiB: 1024, timeoutSeconds: 240, config: {} } }],
    });
    expect(config.workloads[0]?.neuronCollector).toMatchObject({ torchServe: { enabled: true, port: 8082, path: '/metrics' }, extraScrapeTargets: [] });
  });

  test('TorchServe turned off frees its port for another target', () => {
    const config = parseInferwatchConfig({ workloads: [{ neuronCollector: { torchServe: { enabled: false }, extraScrapeTargets: [{ job: 'custom', port: 8082 }] } }] });
    expect(config.workloads[0]?.neuronCollector.extraScrapeTargets).toEqual([{ job: 'custom', port: 8082, path: '/metrics' }]);
  });

  test.each([
    [{ monitoring: { account: '123' } }, 'config key "monitoring.account": must be a 12-digit AWS account id'],
    [{ monitoring: { region: 'Frankfurt' } }, 'config key "monitoring.region": must be an AWS region'],
    [{ monitoring: { alertEmails: ['ops'] } }, 'config key "monitoring.alertEmails[0]"'],
    [{ monitoring: { workspaceId: 'workspace-1' } }, 'config key "monitoring.workspaceId": must be an AMP workspace id'],
    [{ workloads: [] }, 'config key "workloads"'],
    [{ workloads: [{ bridge: { scheduleMinutes: 1 } }] }, 'config key "workloads[0].bridge.timeoutSeconds": must be below the schedule interval (60s)'],
    [{ workloads: [{ bridge: { shards: 0 } }] }, 'config key "workloads[0].bridge.shards"'],
    [{ workloads: [{ bridge: { schedule: 5 } }] }, 'unknown config key "workloads[0].bridge.schedule"'],
    [{ workloads: [{ region: 'eu-west-1' }, { region: 'eu-west-1' }] }, 'config key "workloads[1]": duplicates another workload in monitoring/eu-west-1'],
    [{ bucket: 'x' }, 'unknown config key "bucket"'],
    [{ workloads: [{ region: 'eu-west-1' }, { region: 'eu-west-2', bridge: { config: { period: 45 } } }] }, 'config key "workloads[1].bridge.config.period": must be 1, 5, 10, 30 or a multiple of 60 seconds'],
    [{ workloads: [{ bridge: { config: { colour: 'red' } } }] }, 'unknown config key "workloads[0].bridge.config.colour"'],
    [{ workloads: [{ bridge: { config: { remoteWrite: { url: 'http://x' } } } }] }, 'config key "workloads[0].bridge.config.remoteWrite" is set by the CloudWatchBridge construct'],
    [{ workloads: [{ bridge: { config: { catalog: [{ namespace: 'X', metrics: [{ metric: 'A', type: 'counter', name: 'a' }] }] } } }] }, 'config key "workloads[0].bridge.config.catalog.0.metrics.0.name"'],
    [{ workloads: [{ neuronCollector: { torchServe: { port: 8008 } } }] }, `config key "workloads[0].neuronCollector.torchServe.port": port 8008 is already neuron-monitor's exporter port`],
    [{ workloads: [{ neuronCollector: { torchServe: { path: 'metrics?x=1' } } }] }, 'config key "workloads[0].neuronCollector.torchServe.path": "metrics?x=1" is not a URL path'],
    [{ workloads: [{ neuronCollector: { extraScrapeTargets: [{ job: 'torchserve', port: 8002 }] } }] }, 'config key "workloads[0].neuronCollector.extraScrapeTargets[0].job": job "torchserve" is already scraped'],
    [{ workloads: [{ neuronCollector: { extraScrapeTargets: [{ job: 'triton', port: 8002 }, { job: 'vllm', port: 8002 }] } }] }, 'config key "workloads[0].neuronCollector.extraScrapeTargets[1].port": port 8002 is already the port of scrape target "triton"'],
    [{ workloads: [{ neuronCollector: { extraScrapeTargets: [{ job: 'triton', port: 8888 }] } }] }, `extraScrapeTargets[0].port": port 8888 is already the collector's own metrics`],
    [{ workloads: [{ neuronCollector: { extraScrapeTargets: [{ job: 'triton' }] } }] }, 'config key "workloads[0].neuronCollector.extraScrapeTargets[0].port"'],
    [{ workloads: [{ neuronCollector: { torchServe: { on: false } } }] }, 'unknown config key "workloads[0].neuronCollector.torchServe.on"'],
    [{ workloads: [{ activeSeriesLimit: -1 }] }, 'config key "workloads[0].activeSeriesLimit"'],
    [{ workloads: [{ activeSeriesLimit: 1.5 }] }, 'config key "workloads[0].activeSeriesLimit"'],
    [{ workloads: [{ fleet: { variants: 'many' } }] }, 'config key "workloads[0].fleet.variants"'],
    [{ workloads: [{ fleet: { endpoints: 5 } }] }, 'unknown config key "workloads[0].fleet.endpoints"'],
    [{ monitoring: { retentionDays: 2000 } }, 'config key "monitoring.retentionDays"'],
    [{ workloads: [{ account: '222222222222' }] }, 'config key "monitoring.account" is required when workloads[0] names another account'],
    [{ workloads: [{ alerts: { SageMakerLatencyHigh: { threshold: 2 } } }] }, 'config key "workloads[0].alerts.SageMakerLatencyHigh": is not an inferwatch alert; the alerts are SageMakerEndpointHigh5xxRatio,'],
    [{ workloads: [{ alerts: { SageMakerEndpointHigh5xxRatio: { threshold: 5 } } }] }, 'config key "workloads[0].alerts.SageMakerEndpointHigh5xxRatio.threshold": is a ratio from 0 to 1 (0.05 is 5%), got 5'],
    [{ workloads: [{ alerts: { SageMakerEndpointNotInService: { threshold: 1 } } }] }, 'config key "workloads[0].alerts.SageMakerEndpointNotInService.threshold": SageMakerEndpointNotInService has no threshold'],
    [{ workloads: [{ alerts: { SageMakerEndpointNoData: { threshold: 100.5 } } }] }, 'config key "workloads[0].alerts.SageMakerEndpointNoData.threshold": is a window in whole seconds, at least 60'],
    [{ workloads: [{ alerts: { NeuronExecutionErrors: { threshold: -1 } } }] }, 'config key "workloads[0].alerts.NeuronExecutionErrors.threshold": must be a number from 0'],
    [{ workloads: [{ alerts: { SageMakerServerlessColdStarts: { threshold: 2.5 } } }] }, 'config key "workloads[0].alerts.SageMakerServerlessColdStarts.threshold": is a count, a whole number'],
    [{ workloads: [{ alerts: { NeuronCoreSaturated: { severity: 'page' } } }] }, 'config key "workloads[0].alerts.NeuronCoreSaturated.severity"'],
    [{ workloads: [{ alerts: { NeuronCoreSaturated: { for: '10 minutes' } } }] }, 'config key "workloads[0].alerts.NeuronCoreSaturated.for": must be a Prometheus duration such as 10m or 1h30m'],
    [{ workloads: [{ alerts: { NeuronCoreSaturated: { threshhold: 0.8 } } }] }, 'unknown config key "workloads[0].alerts.NeuronCoreSaturated.threshhold"'],
    // Latencies are read every 10 minutes by default: a hold time of 5 would see one read twice.
    [{ workloads: [{ alerts: { SageMakerModelLatencyP99High: { for: '5m' } } }] }, 'config key "workloads[0].alerts.SageMakerModelLatencyP99High.for": 5m is shorter than 10m, how often the data the alert reads is written (latency (written every 10m))'],
    [{ workloads: [{ bridge: { scheduleMinutes: 15, timeoutSeconds: 600 }, alerts: { SageMakerEndpointHigh5xxRatio: { for: '10m' } } }] }, 'config key "workloads[0].alerts.SageMakerEndpointHigh5xxRatio.for": 10m is shorter than 15m'],
  ])('rejects %j naming the key', (raw, message) => {
    expect(() => parseInferwatchConfig(raw)).toThrow(ConfigError);
    expect(() => parseInferwatchConfig(raw)).toThrow(message);
  });

  test('a workload\'s alert settings reach the monitoring stack\'s rules, for its account and region alone', () => {
    const config = parseInferwatchConfig({
      monitoring: { account: '111111111111', region: 'eu-west-1' },
      // This workload reads latencies every cycle, so its own hold time may be one 5-minute cycle.
      workloads: [{}, { region: 'eu-west-2', bridge: { config: { readIntervals: { latency: 0 } } }, alerts: { SageMakerModelLatencyP99High: { threshold: 2.5, severity: 'critical', for: '5m' }, SageMakerServerlessColdStarts: { enabled: false } } }],
    });
    expect(config.workloads[0]?.alerts).toEqual({});
    const { monitoring } = buildInferwatch(new App(), { ...config, monitoring: { ...config.monitoring, workspaceId: 'ws-12345678-abcd-ef01-2345-6789abcdef01' } });
    const data = Object.values(Template.fromStack(monitoring).findResources('AWS::APS::RuleGroupsNamespace'))[0]?.Properties.Data as string;
    const rules = (parseYaml(data) as { groups: Array<{ rules: Array<{ alert?: string; expr: string; for?: string; labels?: Record<string, string> }> }> }).groups.flatMap((g) => g.rules);
    const latency = rules.filter((r) => r.alert === 'SageMakerModelLatencyP99High');
    expect(latency.map((r) => [r.labels?.severity, r.for])).toEqual([['warning', '15m'], ['critical', '5m']]);
    expect(latency[1]?.expr).toContain('> 2.5');
    expect(latency[1]?.expr).toContain('account_id="111111111111", region="eu-west-2"');
    expect(rules.filter((r) => r.alert === 'SageMakerServerlessColdStarts')).toHaveLength(1);
    expect(rules.filter((r) => r.labels?.alert !== undefined).map((r) => r.labels)).toEqual([
      { alert: 'SageMakerModelLatencyP99High', account_id: '111111111111', region: 'eu-west-2' },
      { alert: 'SageMakerServerlessColdStarts', account_id: '111111111111', region: 'eu-west-2' },
    ]);
  });

  test('each workload\'s sources arrive at their own intervals; the slowest workload sizes each rule\'s windows by the sources it reads', () => {
    const config = parseInferwatchConfig({ workloads: [{}, { region: 'eu-west-2', bridge: { scheduleMinutes: 15, timeoutSeconds: 600, config: { settle: '3m' } } }] });
    const [fast, slow] = config.workloads.map(workloadTimings);
    // The defaults read latencies and utilisation every 10 minutes: every other 5-minute cycle; at 15 minutes, every cycle.
    expect(fast).toMatchObject({ counters: { everySeconds: 300, lagSeconds: 480 }, latency: { everySeconds: 600, lagSeconds: 780 }, utilization: { everySeconds: 600 }, cycle: { everySeconds: 300 }, scrape: { everySeconds: 30 } });
    expect(slow).toMatchObject({ counters: { everySeconds: 900, lagSeconds: 900 + 180 + 60 }, latency: { everySeconds: 900, lagSeconds: 1140 } });
    const everyCycle = parseInferwatchConfig({ workloads: [{ bridge: { config: { readIntervals: { latency: 0, utilization: 0 } } } }, { region: 'eu-west-2', bridge: { config: { readIntervals: { latency: '20m' } } } }] });
    const [zero, twenty] = everyCycle.workloads.map(workloadTimings);
    expect([zero?.latency.lagSeconds, zero?.utilization.lagSeconds, twenty?.latency.lagSeconds, twenty?.counters.lagSeconds]).toEqual([480, 480, 1200 + 120 + 60, 480]);
    const { monitoring } = buildInferwatch(new App(), { ...config, monitoring: { ...config.monitoring, account: '111111111111', region: 'eu-west-1', workspaceId: 'ws-12345678-abcd-ef01-2345-6789abcdef01' } });
    const data = Object.values(Template.fromStack(monitoring).findResources('AWS::APS::RuleGroupsNamespace'))[0]?.Properties.Data as string;
    // 1140 s of lag: 30-minute windows, rates read 21 minutes back, whatever the class (the 15-minute schedule reads all every cycle).
    expect(data).toContain('[30m] offset 21m');
    expect(data).not.toContain('offset 10m');
  });

  test('the example in the repository is valid', () => {
    const config = loadInferwatchConfig(join(__dirname, '../../../inferwatch.config.example.yaml'));
    expect(config.workloads.map((w) => [w.account, w.region, w.bridge.shards])).toEqual([
      ['111111111111', 'eu-west-1', 1],
      ['222222222222', 'eu-west-1', 4],
      ['333333333333', 'us-east-1', 1],
    ]);
    expect(config.workloads[2]?.neuronCollector.extraScrapeTargets).toEqual([{ job: 'triton', port: 8002, path: '/metrics' }]);
    expect(config.workloads[2]?.alerts).toEqual({ SageMakerModelLatencyP99High: { threshold: 2.5, severity: 'critical' }, SageMakerServerlessColdStarts: { enabled: false } });
  });

  test('loads YAML files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iw-rollout-'));
    writeFileSync(join(dir, 'c.yaml'), 'monitoring:\n  account: "111111111111"\n  region: eu-west-1\nworkloads:\n  - bridge: { scheduleMinutes: 15, timeoutSeconds: 600 }\n');
    expect(loadInferwatchConfig(join(dir, 'c.yaml')).workloads[0]?.bridge.scheduleMinutes).toBe(15);
    expect(() => loadInferwatchConfig(join(dir, 'missing.yaml'))).toThrow(/cannot read config file/);
  });
});

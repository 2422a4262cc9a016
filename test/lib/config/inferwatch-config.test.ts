import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferwatchConfigError, loadInferwatchConfig, parseInferwatchConfig } from '../../../lib/config/inferwatch-config';

describe('rollout config', () => {
  test('zero config: one monitoring stack and one bridge in the same account, 5-minute schedule', () => {
    const config = parseInferwatchConfig(undefined);
    expect(config).toMatchObject({
      stackPrefix: 'Inferwatch',
      logRetentionDays: 30,
      monitoring: { workspaceAlias: 'inferwatch', customerManagedKey: true, alertEmails: [] },
      workloads: [{ bridge: { scheduleMinutes: 5, shards: 1, memoryMiB: 512, timeoutSeconds: 240, config: {} } }],
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
    [{ monitoring: { account: '111111111111' }, workloads: [{ account: '222222222222' }] }, 'config key "monitoring.workspaceId" is required for workloads[0] in account 222222222222'],
  ])('rejects %j naming the key', (raw, message) => {
    expect(() => parseInferwatchConfig(raw)).toThrow(InferwatchConfigError);
    expect(() => parseInferwatchConfig(raw)).toThrow(message);
  });

  test('the example in the repository is valid', () => {
    const config = loadInferwatchConfig(join(__dirname, '../../../inferwatch.config.example.yaml'));
    expect(config.workloads.map((w) => [w.account, w.region, w.bridge.shards])).toEqual([
      ['111111111111', 'eu-west-1', 1],
      ['222222222222', 'eu-west-1', 4],
      ['333333333333', 'us-east-1', 1],
    ]);
    expect(config.workloads[2]?.neuronCollector.extraScrapeTargets).toEqual([{ job: 'triton', port: 8002, path: '/metrics' }]);
  });

  test('loads YAML files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iw-rollout-'));
    writeFileSync(join(dir, 'c.yaml'), 'monitoring:\n  account: "111111111111"\n  region: eu-west-1\nworkloads:\n  - bridge: { scheduleMinutes: 15, timeoutSeconds: 600 }\n');
    expect(loadInferwatchConfig(join(dir, 'c.yaml')).workloads[0]?.bridge.scheduleMinutes).toBe(15);
    expect(() => loadInferwatchConfig(join(dir, 'missing.yaml'))).toThrow(/cannot read config file/);
  });
});

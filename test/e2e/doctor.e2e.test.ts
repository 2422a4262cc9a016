import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AmpClient } from '@aws-sdk/client-amp';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { GrafanaApi } from '../../lambda/grafana-provisioner/grafana-api';
import { runDoctor, type Check, type DoctorOptions } from '../../cli/doctor/doctor';
import { rawQuery } from '../../lambda/bridge/remote-write/query';
import { encodeWriteRequest } from '../../lambda/bridge/remote-write/encode';
import { sigv4Auth } from '../../lambda/bridge/remote-write/client';
import { buildLabels } from '../../lambda/bridge/series';
import { AmpStandIn, STAND_IN_ACCESS_KEY, STAND_IN_SECRET } from '../support/stand-ins/amp-stand-in';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { defaultFleet } from '../support/stand-ins/fleet';
import { GrafanaStandIn } from '../support/stand-ins/grafana-stand-in';
import { LocalPrometheus } from '../support/harness/prometheus';
import { runBridge, runCli } from '../support/harness/run-bridge';

const ID = 'ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789';
const ACCOUNT = '123456789012';
const REGION = 'us-east-2';
const TOKEN = 'glsa_doctor_token';
const HEALTH = 'GET /api/datasources/uid/inferwatch-amp/health';
const HEALTHY = { status: 200, body: { status: 'OK', message: 'Successfully queried the Prometheus API.' } };
const MINUTE = 60_000;

describe('inferwatch doctor against the AMP, CloudWatch/SageMaker and Grafana stand-ins, with a real Prometheus behind AMP', () => {
  const prometheus = new LocalPrometheus();
  const aws = new AwsStandIn(defaultFleet());
  const amp = new AmpStandIn(REGION);
  const grafana = new GrafanaStandIn();
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-doctor-'));
  const configFile = join(work, 'inferwatch.yaml');
  let env: Record<string, string>;
  const saved = { ...process.env };

  const options = (extra: Partial<DoctorOptions> = {}): DoctorOptions => ({ workspaceId: ID, workspaceRegion: REGION, region: REGION, ...extra });
  const deps = (secret = STAND_IN_SECRET, signingRegion = REGION) => ({
    amp: new AmpClient({ region: REGION, maxAttempts: 1 }),
    cloudwatch: new CloudWatchClient({ region: REGION, maxAttempts: 1 }),
    sagemaker: new SageMakerClient({ region: REGION, maxAttempts: 1 }),
    query: (url: string) => rawQuery(url, sigv4Auth(signingRegion, { accessKeyId: STAND_IN_ACCESS_KEY, secretAccessKey: secret })),
    now: Date.now,
  });
  const withGrafana = (token = TOKEN) => ({ ...deps(), grafana: new GrafanaApi(grafana.url, token, { sleep: async () => {} }) });
  const failing = (checks: Check[]) => checks.filter((c) => !c.ok);
  const named = (checks: Check[], prefix: string) => checks.find((c) => c.name.startsWith(prefix));

  beforeAll(async () => {
    await prometheus.start();
    await aws.start();
    await amp.start();
    await grafana.start();
    amp.prometheusBackend = prometheus.url;
    amp.addWorkspace(ID).configuration.limitsPerLabelSet.push({ labelSet: { account_id: ACCOUNT }, limits: { maxSeries: 4000 } });
    grafana.token = TOKEN;
    env = { ...aws.env(), ...amp.env() };
    Object.assign(process.env, env);
    writeFileSync(configFile, `accountId: "${ACCOUNT}"\n`);
    // Two bridge cycles through the workspace id, five minutes apart: the counters get a last increase to read.
    const now = Date.now();
    for (const at of [now - 5 * MINUTE, now]) {
      const run = await runBridge(['--once', '--config', configFile, '--workspace', ID, '--state-dir', join(work, 'state'), '--now', String(at)], env);
      expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    }
  });

  afterAll(async () => {
    process.env = saved;
    await Promise.all([prometheus.stop(), aws.stop(), amp.stop(), grafana.stop()]);
  });

  test('the bridge resolved the workspace id with one DescribeWorkspace per run and wrote every request signed to the endpoint it named', async () => {
    expect(amp.callsTo('DescribeWorkspace').map((c) => c.signed)).toEqual([true, true]);
    const writes = amp.callsTo('RemoteWrite');
    expect(writes.length).toBeGreaterThan(1);
    expect(writes.every((c) => c.signed && c.path === `/workspaces/${ID}/api/v1/remote_write` && c.scope?.service === 'aps' && c.scope.region === REGION)).toBe(true);
    const invocations = await prometheus.query('sum(aws_sagemaker_invocations_total)', Date.now());
    expect(invocations[0]?.value).toBeGreaterThan(0);
  });

  test('all ✓: the CLI prints one line per check and exits 0', async () => {
    grafana.reply(HEALTH, HEALTHY);
    const run = await runCli(['doctor', '--workspace', ID, '--grafana-url', grafana.url], { ...env, GRAFANA_TOKEN: TOKEN });
    const lines = run.stdout.trimEnd().split('\n');
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(lines.map((l) => l.replace(/:.*$/, ''))).toEqual([
      `✓ workspace ${ID}`,
      '✓ workspace logging',
      '✓ workspace configuration',
      '✓ rule groups namespace inferwatch',
      '✓ alert manager definition',
      `✓ bridge account ${ACCOUNT} region ${REGION}`,
      `✓ CloudWatch in ${REGION}`,
      `✓ SageMaker in ${REGION}`,
      `✓ CloudWatch PromQL API in ${REGION}`,
      '✓ Grafana data source inferwatch-amp',
    ]);
    expect(lines[2]).toBe('✓ workspace configuration: ACTIVE, retention 150 days, series limits account_id=123456789012: 4000');
    expect(lines[5]).toMatch(/last cycle \d+ s ago, lag \d+ (s|min), [1-9]\d* samples written, 0 rejected$/);
    if (process.env.DOCTOR_EXAMPLE_FILE) writeFileSync(process.env.DOCTOR_EXAMPLE_FILE, run.stdout);
  });

  test('the PromQL query is SigV4-signed: the stand-in recomputes the signature, and a wrong key or region is refused with 403', async () => {
    const before = amp.callsTo('QueryMetrics').length;
    grafana.reply(HEALTH, HEALTHY);
    expect(failing(await runDoctor(options(), withGrafana()))).toEqual([]);
    const queries = amp.callsTo('QueryMetrics').slice(before);
    expect(queries).toHaveLength(3);
    expect(queries.every((c) => c.signed && c.method === 'POST' && c.scope?.service === 'aps')).toBe(true);

    const wrongKey = named(await runDoctor(options(), deps('not-the-secret')), 'bridge');
    expect(wrongKey).toMatchObject({ ok: false, detail: expect.stringContaining('HTTP 403') });
    expect(wrongKey?.detail).toContain('signature we calculated does not match');
    const wrongRegion = named(await runDoctor(options(), deps(STAND_IN_SECRET, 'eu-west-1')), 'bridge');
    expect(wrongRegion?.detail).toMatch(/HTTP 403.*Credential should be scoped to correct service\/region/);
  });

  test('✗ workspace not ACTIVE, not found, not readable: the workspace line says which and the bridge is not checked', async () => {
    const workspace = amp.workspaces.get(ID)!;
    workspace.status = 'CREATING';
    try {
      const checks = await runDoctor(options(), deps());
      expect(named(checks, 'workspace ws-')).toMatchObject({ ok: false, detail: `AMP workspace ${ID} in ${REGION} is CREATING, not ACTIVE`, fix: expect.stringContaining('wait until it is ACTIVE') });
      expect(named(checks, 'bridge')).toMatchObject({ ok: false, detail: 'not checked: the workspace is not usable' });
    } finally {
      workspace.status = 'ACTIVE';
    }
    const missing = await runDoctor(options({ workspaceId: 'ws-00000000-dead' }), deps());
    expect(named(missing, 'workspace ws-')?.detail).toContain('does not exist in us-east-2 (DescribeWorkspace: ResourceNotFoundException)');
    expect(named(missing, 'rule groups')?.detail).toContain('does not exist');
    amp.denied.add('DescribeWorkspace');
    try {
      const denied = named(await runDoctor(options(), deps()), 'workspace ws-');
      expect(denied).toMatchObject({ ok: false, fix: expect.stringContaining('grant aps:DescribeWorkspace') });
      expect(denied?.detail).toContain('lack aps:DescribeWorkspace');
    } finally {
      amp.denied.clear();
    }
  });

  test('✗ logging off or failed, configuration, rules and alert manager in CREATION_FAILED/UPDATE_FAILED with AMP\'s reason, or missing', async () => {
    const workspace = amp.workspaces.get(ID)!;
    const original = { logging: workspace.logging, alertManager: workspace.alertManager, configuration: workspace.configuration };
    try {
      workspace.logging = undefined;
      workspace.configuration = { ...workspace.configuration, status: { statusCode: 'UPDATE_FAILED', statusReason: 'label set {account_id=""} is not valid' } };
      workspace.ruleGroupsNamespaces.set('inferwatch', { statusCode: 'CREATION_FAILED', statusReason: 'parse error in group "inferwatch-bridge": unknown function last_over_tme' });
      workspace.alertManager = { statusCode: 'UPDATE_FAILED', statusReason: 'no route provided in config' };
      let checks = await runDoctor(options(), deps());
      expect(failing(checks).map((c) => c.name)).toEqual(['workspace logging', 'workspace configuration', 'rule groups namespace inferwatch', 'alert manager definition']);
      expect(named(checks, 'workspace configuration')).toMatchObject({ detail: 'UPDATE_FAILED: label set {account_id=""} is not valid', fix: expect.stringContaining('activeSeriesLimit') });
      expect(named(checks, 'workspace logging')?.detail).toBe('not configured: rule and alert manager errors go nowhere');
      expect(named(checks, 'rule groups')?.detail).toBe('CREATION_FAILED: parse error in group "inferwatch-bridge": unknown function last_over_tme');
      expect(named(checks, 'alert manager')).toMatchObject({ detail: 'UPDATE_FAILED: no route provided in config', fix: expect.stringContaining('amtool check-config') });

      workspace.logging = { statusCode: 'CREATION_FAILED', statusReason: 'log group does not exist', logGroupArn: 'arn:aws:logs:us-east-2:123456789012:log-group:gone:*' };
      workspace.ruleGroupsNamespaces.clear();
      workspace.alertManager = undefined;
      checks = await runDoctor(options(), deps());
      expect(named(checks, 'workspace logging')?.detail).toBe('CREATION_FAILED: log group does not exist');
      expect(named(checks, 'rule groups')).toMatchObject({ ok: false, detail: 'does not exist: no recording rules and no alerts' });
      expect(named(checks, 'alert manager')).toMatchObject({ ok: false, detail: 'does not exist: alerts fire but reach nobody' });
    } finally {
      Object.assign(workspace, original);
      workspace.ruleGroupsNamespaces.set('inferwatch', { statusCode: 'ACTIVE' });
    }
  });

  test('✗ bridge: query refused, no cycle in the window, lag or age beyond --max-lag, rejected samples', async () => {
    amp.denied.add('QueryMetrics');
    try {
      expect(named(await runDoctor(options(), deps()), 'bridge')).toMatchObject({ ok: false, detail: expect.stringMatching(/HTTP 403.*aps:QueryMetrics/s) });
    } finally {
      amp.denied.clear();
    }
    expect(named(await runDoctor(options({ lookbackSeconds: 1 }), deps()), 'bridge')).toMatchObject({ ok: false, detail: 'no bridge cycle wrote to the workspace in the last 1s' });
    expect(named(await runDoctor(options({ maxLagSeconds: 30 }), deps()), 'bridge')).toMatchObject({ ok: false, fix: expect.stringMatching(/^(no cycle|data is over)/) });

    // A second account whose bridge reports samples the workspace refused (as a series limit does).
    const now = Date.now();
    const base = { account_id: '999999999999', region: REGION };
    const series = [
      { labels: buildLabels('inferwatch_bridge_lag_seconds', base), samples: [{ timestamp: now - 60_000, value: 200 }], kind: 'gauge' as const },
      {
        labels: buildLabels('inferwatch_bridge_samples_rejected_total', { ...base, reason: 'bad_request' }),
        samples: [
          { timestamp: now - 360_000, value: 0 },
          { timestamp: now - 60_000, value: 37 },
        ],
        kind: 'counter' as const,
      },
    ];
    const response = await fetch(prometheus.remoteWriteUrl, { method: 'POST', headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' }, body: encodeWriteRequest(series) });
    expect(response.status).toBeLessThan(300);
    const checks = await runDoctor(options(), deps());
    expect(named(checks, 'bridge account 999999999999')).toMatchObject({ ok: false, detail: 'last cycle 60 s ago, lag 200 s, 0 samples written, 37 rejected (37 bad_request)', fix: expect.stringContaining('limitsPerLabelSet') });
    expect(named(checks, `bridge account ${ACCOUNT}`)?.ok).toBe(true);
  });

  test('✗ Grafana: wrong token (401), no data source (404), a failing health check (400 ERROR); exit code 1 from the CLI', async () => {
    expect(named(await runDoctor(options(), withGrafana('glsa_expired')), 'Grafana')).toMatchObject({ ok: false, detail: expect.stringContaining('HTTP 401: Invalid API key'), fix: expect.stringContaining('token') });
    grafana.reply(HEALTH, { status: 404, body: { message: 'Data source not found' } });
    expect(named(await runDoctor(options(), withGrafana()), 'Grafana')).toMatchObject({ ok: false, fix: expect.stringContaining('does not exist') });
    grafana.reply(HEALTH, { status: 400, body: { status: 'ERROR', message: 'Post "https://aps-workspaces.us-east-2.amazonaws.com/...": 403 Forbidden' } });
    expect(named(await runDoctor(options(), withGrafana()), 'Grafana')).toMatchObject({ ok: false, detail: expect.stringContaining('HTTP 400: Post'), fix: expect.stringContaining('aps:QueryMetrics') });

    grafana.reply(HEALTH, { status: 400, body: { status: 'ERROR', message: 'Post "https://aps-workspaces.us-east-2.amazonaws.com/workspaces/ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789/api/v1/query": 403 Forbidden' } });
    const rules = amp.workspaces.get(ID)!.ruleGroupsNamespaces;
    rules.set('inferwatch', { statusCode: 'CREATION_FAILED', statusReason: 'group "inferwatch-bridge", rule 2, "InferwatchBridgeLagging": could not parse expression: 1:5: parse error: unknown function with name "last_over_tme"' });
    let run;
    try {
      run = await runCli(['doctor', '--workspace', ID, '--grafana-url', grafana.url], { ...env, GRAFANA_TOKEN: TOKEN });
    } finally {
      rules.set('inferwatch', { statusCode: 'ACTIVE' });
    }
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^✗ rule groups namespace inferwatch: CREATION_FAILED: group "inferwatch-bridge", rule 2.*\n {4}fix: fix the rule file/m);
    expect(run.stdout).toMatch(/^✗ Grafana data source inferwatch-amp: .*403 Forbidden\n {4}fix: /m);
    if (process.env.DOCTOR_FAILING_EXAMPLE_FILE) writeFileSync(process.env.DOCTOR_FAILING_EXAMPLE_FILE, run.stdout);
  });
});

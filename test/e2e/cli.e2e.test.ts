import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { defaultFleet } from '../support/stand-ins/fleet';
import { RecordingReceiver } from '../support/harness/recording-receiver';
import { runBridge, runCli, type BridgeRun } from '../support/harness/run-bridge';

const MINUTE = 60_000;
/** The one string that must never appear in any output or stored byte. */
const SECRET = 'Zq9-very-secret-7Hk';

/** Answers 503 to the first request, then accepts: every cycle logs a retry. Records the Authorization headers. */
class FlakyReceiver extends RecordingReceiver {
  readonly authorization: string[] = [];
  private failNext = true;

  protected override async respond(_body: Buffer, req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.authorization.push(req.headers.authorization ?? '');
    const fail = this.failNext;
    this.failNext = !fail;
    res.writeHead(fail ? 503 : 204).end(fail ? 'try again' : undefined);
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

describe('the CLI: exit codes, argument checks, logs, secrets', () => {
  const standIn = new AwsStandIn(defaultFleet('neuron_monitor', 0));
  const receiver = new FlakyReceiver();
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-cli-'));
  const now = Math.floor(Date.now() / MINUTE) * MINUTE - 60 * MINUTE;
  let env: Record<string, string>;

  beforeAll(async () => {
    await standIn.start();
    await receiver.start();
    env = standIn.env();
  });

  afterAll(async () => {
    await receiver.stop();
    await standIn.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('usage errors exit 2 and show the expected form; nothing is called', async () => {
    const runs = await Promise.all([
      runBridge(['--once', '--bogus'], env),
      runBridge(['--once', '--now', '0'], env),
      runBridge(['--once', '--now', '-1769860800000'], env),
      runBridge(['--once', '--now', String(Math.floor(now / 1000))], env),
      runBridge(['--once', '--now', String(Date.now() + 7 * 24 * 3600 * 1000)], env),
      runBridge(['--once', '--log-level', 'loud'], env),
    ]);
    expect(runs.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2]);
    expect(runs[0]?.stderr).toContain("unknown option '--bogus'");
    for (const run of runs.slice(1, 5)) expect(run.stderr).toContain('expected an ISO 8601 time such as 2026-01-31T12:00:00Z, or epoch milliseconds');
    expect(runs[3]?.stderr).toContain('looks like epoch seconds');
    expect(runs[4]?.stderr).toContain('more than a day in the future');
    expect(runs[5]?.stderr).toContain('Allowed choices are debug, info, warn, error');
    expect(standIn.calls).toHaveLength(0);
  });

  test('--version prints the package version', async () => {
    const version = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, '../../cli/main.ts'), '--version'], { encoding: 'utf8' });
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string }).version);
  });

  test('a state directory that cannot be written fails before any AWS call, naming it', async () => {
    const notADirectory = join(work, 'plain-file');
    writeFileSync(notADirectory, 'x');
    const stateDir = join(notADirectory, 'state');
    const run = await runBridge(['--once', '--remote-write-url', receiver.url, '--state-dir', stateDir, '--now', String(now)], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`state directory ${stateDir} is not usable`);
    expect(standIn.calls).toHaveLength(0);
  });

  test('an unreachable endpoint is named by its service', async () => {
    const dead = 'http://127.0.0.1:1';
    const [cloudwatch, sagemaker, s3] = await Promise.all([
      runBridge(['--dry-run', '--now', String(now)], { ...env, AWS_ENDPOINT_URL_CLOUDWATCH: dead, AWS_MAX_ATTEMPTS: '1' }),
      runBridge(['--dry-run', '--now', String(now)], { ...env, AWS_ENDPOINT_URL_SAGEMAKER: dead }),
      runBridge(['--dry-run', '--now', String(now)], { ...env, AWS_ENDPOINT_URL_S3: dead, INFERWATCH_STATE_BUCKET: 'inferwatch-state' }),
    ]);
    expect(cloudwatch.code).toBe(1);
    expect(cloudwatch.stderr).toMatch(/CloudWatch ListMetrics: cannot reach the CloudWatch endpoint \(ECONNREFUSED.*AWS_ENDPOINT_URL_CLOUDWATCH/);
    expect(sagemaker.code).toBe(1);
    expect(sagemaker.stderr).toMatch(/SageMaker \w+: cannot reach the SageMaker endpoint \(ECONNREFUSED.*AWS_ENDPOINT_URL_SAGEMAKER/);
    expect(s3.code).toBe(1);
    expect(s3.stderr).toMatch(/S3 GetObject: cannot reach the S3 endpoint \(ECONNREFUSED.*AWS_ENDPOINT_URL_S3/);
  });

  test('--log-level debug logs each AWS call and each remote-write request with its timing', async () => {
    const run = await runBridge(['--once', '--log-level', 'debug', '--remote-write-url', receiver.url, '--state-dir', join(work, 'debug-state'), '--now', String(now)], env);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/DEBUG aws call \{"service":"CloudWatch","operation":"ListMetrics","status":200,"attempts":1,"ms":\d+\}/);
    expect(run.stderr).toMatch(/DEBUG aws call \{"service":"CloudWatch","operation":"GetMetricData","status":200,"attempts":1,"ms":\d+\}/);
    expect(run.stderr).toMatch(/DEBUG aws call \{"service":"SageMaker","operation":"ListEndpoints","status":200,"attempts":1,"ms":\d+\}/);
    expect(run.stderr).toMatch(/DEBUG remote write request \{"url":"http:\/\/127\.0\.0\.1:\d+\/api\/v1\/write","attempt":1,"status":503,"bytes":\d+,"ms":\d+\}/);
    expect(run.stderr).toMatch(/DEBUG remote write request \{"url":"[^"]+","attempt":2,"status":204,/);
    const quiet = await runBridge(['--dry-run', '--now', String(now)], env);
    expect(quiet.stderr).not.toContain('DEBUG');
  });

  test('config check prints the resolved settings with secrets masked, and names the key of an invalid one', async () => {
    const good = join(work, 'check.yaml');
    writeFileSync(good, `period: 5m\nremoteWrite:\n  url: ${receiver.url}\n  auth: { type: bearer, token: "${SECRET}" }\n`);
    const run = await runCli(['config', 'check', good], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`bridge config ${good} is valid; resolved:\n`);
    expect(run.stdout).toMatch(/^period: 300$/m);
    expect(run.stdout).toMatch(/^settle: 120$/m);
    expect(run.stdout).toMatch(/^region: us-east-2$/m);
    expect(run.stdout).toContain('token: "***"');
    expect(run.stdout + run.stderr).not.toContain(SECRET);
    const rollout = await runCli(['config', 'check', join(__dirname, '../../inferwatch.config.example.yaml')], env);
    expect(rollout.code).toBe(0);
    expect(rollout.stdout).toContain('rollout config');
    const bad = join(work, 'check-bad.yaml');
    writeFileSync(bad, 'period: 45\n');
    const invalid = await runCli(['config', 'check', bad], env);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('config key "period": must be 1, 5, 10, 30 or a multiple of 60 seconds');
  });

  test('cost --discover counts what the bridge would query, with ListMetrics only', async () => {
    standIn.calls.length = 0;
    const cost = await runCli(['cost', '--discover'], env);
    expect(cost.code).toBe(0);
    expect(standIn.calls.map((c) => c.target.split('.').pop())).toEqual(expect.arrayContaining(['ListMetrics']));
    expect(standIn.calls.filter((c) => !c.target.endsWith('.ListMetrics'))).toEqual([]);
    const dry = await runBridge(['--dry-run', '--now', String(now)], env);
    const queries = /, (\d+) queries in /.exec(dry.stderr)?.[1];
    expect(cost.stdout).toContain(`(3 production variants): ${queries} queries a cycle`);
    // Both readings of the billing unit: per statistic, and per metric with up to five statistics in a call.
    expect(cost.stdout).toMatch(/inferwatch bridge, every 5 min +[\d.]+( million)? metrics requested \(GetMetricData, billed per statistic\) +\$\d+\.\d\d/);
    expect(cost.stdout).toMatch(/inferwatch bridge, every 5 min +[\d.]+( million)? metrics requested \(GetMetricData, billed per metric, up to 5 statistics\) +\$\d+\.\d\d/);
    // The latency modes side by side, per real-time variant and month.
    expect(cost.stdout).toMatch(/^histogram \(configured\) +38 +18 +45 +\$3\.283 +\$1\.555 +\$0\.175 +\$3\.458 \/ \$1\.730$/m);
    expect(cost.stdout).toMatch(/^summary +22 +14 +27 +\$1\.901 +\$1\.210 +\$0\.105 +\$2\.006 \/ \$1\.315$/m);
    expect(cost.stdout).toContain('Prices: https://aws.amazon.com/cloudwatch/pricing/');
    const usage = await runCli(['cost'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('give the fleet');
  });

  describe('a secret in every place a secret can go never reaches output or state', () => {
    const runs: BridgeRun[] = [];
    const stateDirs: string[] = [];
    const cycle = async (name: string, remoteWrite: string, extraEnv: Record<string, string> = {}, args: string[] = []) => {
      const config = join(work, `${name}.yaml`);
      const stateDir = join(work, `${name}-state`);
      writeFileSync(config, `accountId: "123456789012"\nremoteWrite:\n${remoteWrite}`);
      stateDirs.push(stateDir);
      // Two cycles: the second reads the state the first stored.
      for (const offset of [0, 5 * MINUTE]) {
        runs.push(await runBridge(['--once', '--log-level', 'debug', '--config', config, '--state-dir', stateDir, '--now', String(now + offset), ...args], { ...env, ...extraEnv }));
      }
      return runs.slice(-2);
    };

    test('bearer token and basic password, in the config and from the environment, are sent and never shown', async () => {
      const url = `  url: ${receiver.url}\n`;
      const basic = `Basic ${Buffer.from(`bridge:${SECRET}`).toString('base64')}`;
      const sent = (expected: string) => expect(receiver.authorization.splice(0).filter((h) => h === expected).length).toBeGreaterThan(0);
      for (const [name, remoteWrite, extraEnv, header] of [
        ['bearer-config', `${url}  auth: { type: bearer, token: "${SECRET}" }\n`, {}, `Bearer ${SECRET}`],
        ['bearer-env', `${url}  auth: { type: bearer, tokenEnv: RW_TOKEN }\n`, { RW_TOKEN: SECRET }, `Bearer ${SECRET}`],
        ['basic-config', `${url}  auth: { type: basic, username: bridge, password: "${SECRET}" }\n`, {}, basic],
        ['basic-env', `${url}  auth: { type: basic, username: bridge, passwordEnv: RW_PASSWORD }\n`, { RW_PASSWORD: SECRET }, basic],
      ] as const) {
        receiver.authorization.length = 0;
        const [first, second] = await cycle(name, remoteWrite, extraEnv);
        expect([first?.code, second?.code]).toEqual([0, 0]);
        expect(first?.stderr).toContain('remote write failed; retrying');
        sent(header);
      }
    });

    test('credentials in a URL are refused with a pointer to remoteWrite.auth, wherever the URL comes from', async () => {
      const withPassword = receiver.url.replace('http://', `http://bridge:${SECRET}@`);
      const [fromFile] = await cycle('url-file', `  url: ${withPassword}\n`);
      const [fromEnv] = await cycle('url-env', '  maxAttempts: 3\n', { INFERWATCH_REMOTE_WRITE_URL: withPassword });
      const [fromFlag] = await cycle('url-flag', '  maxAttempts: 3\n', {}, ['--remote-write-url', withPassword]);
      const [queryUrl] = await cycle('query-url', `  url: ${receiver.url}\n  queryUrl: ${withPassword.replace(/write$/, 'query')}\n`);
      for (const run of [fromFile, fromEnv, fromFlag, queryUrl]) {
        expect(run?.code).toBe(2);
        expect(run?.stderr).toContain('must not contain credentials (user:password@): put them in "remoteWrite.auth"');
      }
    });

    test('a token in a query string is redacted where the URL is logged', async () => {
      const [run] = await cycle('query', `  url: http://127.0.0.1:1/api/v1/write?api_key=${SECRET}\n  maxAttempts: 2\n`);
      expect(run?.code).toBe(1);
      expect(run?.stderr).toContain('remote write to http://127.0.0.1:1/api/v1/write gave up after 2 attempt(s)');
    });

    afterAll(() => {
      // Runs even when a test above failed, so a leak is reported beside the failure.
      const leaks = [
        ...runs.flatMap((run, i) => [run.stdout.includes(SECRET) ? `stdout of run ${i}` : '', run.stderr.includes(SECRET) ? `stderr of run ${i}` : '']),
        ...stateDirs.flatMap((dir) => {
          try {
            return filesUnder(dir).filter((file) => readFileSync(file).includes(SECRET));
          } catch {
            return [];
          }
        }),
      ].filter(Boolean);
      expect({ runs: runs.length, leaks }).toEqual({ runs: 18, leaks: [] });
      expect(stateDirs.filter((dir) => { try { return filesUnder(dir).length > 0; } catch { return false; } }).length).toBeGreaterThanOrEqual(4);
    });
  });
});

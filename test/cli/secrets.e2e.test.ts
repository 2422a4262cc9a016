import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsStandIn } from '../support/stand-ins/aws-stand-in';
import { defaultFleet } from '../support/stand-ins/fleet';
import { RecordingReceiver } from '../support/harness/recording-receiver';
import { runCli, type BridgeRun } from '../support/harness/run-bridge';

/** Each place a secret can go has its own, so a leak names the place. */
const IN_QUERY = 'Qx7-query-secret-tenant';
const IN_HEADER = 'Hd4-header-secret-token';
const IN_USERINFO = 'Ui2-userinfo-secret-pass';
const IN_GRAFANA = 'Gf8-grafana-secret-token';
const SECRETS = [IN_QUERY, IN_HEADER, IN_USERINFO, IN_GRAFANA];
const WORKSPACE = 'ws-0a1b2c3d-4e5f-6789-abcd-ef0123456789';

/** Records the headers it was sent: the secrets must reach the receiver, and nothing else. */
class HeaderReceiver extends RecordingReceiver {
  readonly seen: string[] = [];

  protected override async respond(_body: Buffer, req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.seen.push(`${req.url ?? ''} ${req.headers.authorization ?? ''}`);
    res.writeHead(204).end();
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

describe('every command, with secrets in a URL, its query and the request headers, shows none of them', () => {
  const standIn = new AwsStandIn(defaultFleet('neuron_monitor', 0));
  const receiver = new HeaderReceiver();
  const work = mkdtempSync(join(tmpdir(), 'inferwatch-secrets-'));
  const configs = mkdtempSync(join(tmpdir(), 'inferwatch-secrets-config-'));
  const runs: Array<{ name: string; run: BridgeRun }> = [];

  beforeAll(async () => {
    await standIn.start();
    await receiver.start();
  });

  afterAll(async () => {
    await receiver.stop();
    await standIn.stop();
    rmSync(work, { recursive: true, force: true });
    rmSync(configs, { recursive: true, force: true });
  });

  test('config check, bridge (dry run, a cycle, a refused URL), doctor and cost', async () => {
    const withQuery = `${receiver.url}?tenant=${IN_QUERY}`;
    const config = join(configs, 'inferwatch.yaml');
    writeFileSync(config, `accountId: "123456789012"\nremoteWrite:\n  url: ${withQuery}\n  queryUrl: ${withQuery.replace(/write\?/, 'query?')}\n  auth: { type: bearer, token: "${IN_HEADER}" }\n`);
    const userInfo = join(configs, 'userinfo.yaml');
    writeFileSync(userInfo, `remoteWrite:\n  url: ${receiver.url.replace('http://', `http://bridge:${IN_USERINFO}@`)}\n`);
    const env = { ...standIn.env(), AWS_ENDPOINT_URL_AMP: 'http://127.0.0.1:1', AWS_MAX_ATTEMPTS: '1', GRAFANA_TOKEN: IN_GRAFANA };
    const state = join(work, 'state');
    const commands: Array<[string, string[], Record<string, string>?]> = [
      ['config check FILE', ['config', 'check', config]],
      ['config check (from the environment)', ['config', 'check'], { INFERWATCH_CONFIG_FILE: config }],
      ['config check (token from the environment)', ['config', 'check'], { INFERWATCH_CONFIG: JSON.stringify({ remoteWrite: { url: withQuery, auth: { type: 'bearer', tokenEnv: 'RW_TOKEN' } } }), RW_TOKEN: IN_HEADER }],
      ['config check (user-info refused)', ['config', 'check', userInfo]],
      ['bridge --dry-run', ['bridge', '--dry-run', '--log-level', 'debug', '-c', config]],
      ['bridge --once', ['bridge', '--once', '--log-level', 'debug', '-c', config, '--state-dir', state]],
      ['bridge --once --remote-write-url', ['bridge', '--once', '--log-level', 'debug', '--remote-write-url', withQuery, '--state-dir', join(work, 'flag-state')]],
      ['bridge (user-info refused)', ['bridge', '--once', '-c', userInfo, '--state-dir', join(work, 'refused-state')]],
      ['doctor', ['doctor', '-c', config, '--workspace', WORKSPACE, '--grafana-url', `http://127.0.0.1:1/?auth=${IN_QUERY}`]],
      ['cost', ['cost', '-c', config, '--variants', '3']],
      ['cost --discover', ['cost', '--discover', '-c', config]],
    ];
    for (const [name, args, extra] of commands) runs.push({ name, run: await runCli(args, { ...env, ...extra }) });

    // The runs did what they are for, so a silent command cannot pass for a masked one.
    const codes = Object.fromEntries(runs.map(({ name, run }) => [name, run.code]));
    expect(codes).toEqual({
      'config check FILE': 0,
      'config check (from the environment)': 0,
      'config check (token from the environment)': 0,
      'config check (user-info refused)': 2,
      'bridge --dry-run': 0,
      'bridge --once': 0,
      'bridge --once --remote-write-url': 0,
      'bridge (user-info refused)': 2,
      doctor: 1,
      cost: 0,
      'cost --discover': 0,
    });
    const leaks = runs.flatMap(({ name, run }) =>
      SECRETS.flatMap((secret) => [run.stdout.includes(secret) ? `${secret} in stdout of ${name}` : '', run.stderr.includes(secret) ? `${secret} in stderr of ${name}` : '']),
    );
    const written = filesUnder(work);
    const fileLeaks = written.filter((file) => SECRETS.some((secret) => readFileSync(file).includes(secret)));
    expect({ leaks: leaks.filter(Boolean), fileLeaks }).toEqual({ leaks: [], fileLeaks: [] });
    expect(written.length).toBeGreaterThan(0);
    expect(runs[0]?.run.stdout).toContain(`url: ${receiver.url}?tenant=***`);
    expect(runs[0]?.run.stdout).toContain('token: "***"');
    expect(receiver.seen.some((s) => s.includes(IN_QUERY) && s.includes(`Bearer ${IN_HEADER}`))).toBe(true);

  });
});

import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DROPPED, FIXTURES, identity, parseExposition } from './collector-expectations';

/**
 * neuron-monitor-prometheus.py's contract with the collector config: what prometheus_client (the version .ci/run
 * installs from PyPI, the one the SSM step falls back to) serves for the exporter's families has the names, suffixes
 * and runtime families of the captures the relabelling is tested on, so the drop list still covers everything
 * prometheus_client adds. The exporter itself ships in aws-neuronx-tools (not on PyPI): exporter-replay.py builds
 * the same Counter and Gauge families in prometheus_client's default registry and serves them as it does.
 */
const PYTHON = process.env.PYTHON ?? 'python3';
const HAVE_CLIENT = spawnSync(PYTHON, ['-c', 'import prometheus_client'], { encoding: 'utf8' }).status === 0;
if (!HAVE_CLIENT && process.env.CI !== 'true') {
  console.warn(`\n!!! SKIPPED: the exporter contract tests (test/e2e/exporter-contract.e2e.test.ts): ${PYTHON} cannot import prometheus_client. Run: ${PYTHON} -m pip install 'prometheus-client==0.26.0'. In CI its absence fails.\n`);
}
const describeContract = HAVE_CLIENT || process.env.CI === 'true' ? describe : describe.skip;

/** `# TYPE` lines: family name to type. */
function families(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]));
}

describeContract.each(['exporter-running.prom', 'exporter-idle.prom'])("prometheus_client serving the exporter's families of %s", (capture) => {
  const captured = readFileSync(join(FIXTURES, capture), 'utf8');
  let replay: ChildProcessWithoutNullStreams | undefined;
  let served = '';

  beforeAll(async () => {
    if (!HAVE_CLIENT) throw new Error(`CI=true and ${PYTHON} cannot import prometheus_client: .ci/run must pip-install it first`);
    replay = spawn(PYTHON, [join(__dirname, 'exporter-replay.py'), join(FIXTURES, capture)]);
    let output = '';
    const port = await new Promise<number>((resolve, reject) => {
      replay?.stdout.on('data', (d: Buffer) => {
        output += d.toString();
        const match = /listening (\d+)/.exec(output);
        if (match) resolve(Number(match[1]));
      });
      replay?.stderr.on('data', (d: Buffer) => (output += d.toString()));
      replay?.once('exit', (code) => reject(new Error(`exporter-replay.py exited with ${code}:\n${output}`)));
    });
    served = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  });

  afterAll(async () => {
    if (replay && replay.exitCode === null) {
      const exited = new Promise((resolve) => replay?.once('exit', resolve));
      replay.stdin.end();
      replay.kill('SIGTERM');
      await exited;
    }
  });

  test('every family has the name and type of the capture, runtime families and *_created included', () => {
    expect([...families(served)].sort()).toEqual([...families(captured)].sort());
  });

  test('what the relabelling keeps is the same series, with the same labels and values', () => {
    const kept = (text: string) => new Map(parseExposition(text).filter((s) => !DROPPED.test(s.name)).map((s) => [identity(s.name, s.labels), s.value]));
    expect([...kept(served)].sort()).toEqual([...kept(captured)].sort());
  });

  test('what it drops is there to drop: prometheus_client still serves *_created, python_gc_*, python_info and process_*', () => {
    const dropped = new Set(parseExposition(served).filter((s) => DROPPED.test(s.name)).map((s) => s.name.replace(/^(python_gc|process)_.*/, '$1_*').replace(/.*_created$/, '*_created')));
    expect([...dropped].sort()).toEqual(['*_created', 'process_*', 'python_gc_*', 'python_info']);
  });
});

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createCpuCap, lambdaCpuShare, wallAtShare } from './cpu-share';

describe("the bench's Lambda CPU share", () => {
  test('1,769 MB is one vCPU, linear; the model takes the longer of the wall and the CPU time at the share', () => {
    expect(lambdaCpuShare(1769)).toBe(1);
    expect(lambdaCpuShare(512)).toBeCloseTo(0.2894, 4);
    expect(wallAtShare(10_000, 5_000, 0.25)).toBe(20_000);
    expect(wallAtShare(30_000, 5_000, 0.25)).toBe(30_000);
  });

  test('a wrapped command runs inside the quota cgroup from its first instruction, with the quota of the share; else the cap says why', () => {
    const cap = createCpuCap(0.25, `inferwatch-bench-test-${process.pid}`);
    try {
      const { command, args } = cap.wrap('/bin/cat', ['/proc/self/cgroup']);
      const run = spawnSync(command, args, { encoding: 'utf8' });
      expect(run.status).toBe(0);
      if (cap.mode === 'model') {
        expect(cap.reason).toMatch(/cgroup v1: .*; cgroup v2: /);
        expect(command).toBe('/bin/cat');
        return;
      }
      const line = cap.mode === 'cgroup v1' ? /^\d+:cpu(,cpuacct)?:(\/.*)$/m : /^0::(\/.*)$/m;
      const path = line.exec(run.stdout)?.slice(-1)[0];
      expect(path).toBe(`/inferwatch-bench-test-${process.pid}`);
      const quota = cap.mode === 'cgroup v1' ? readFileSync(`/sys/fs/cgroup/cpu${path}/cpu.cfs_quota_us`, 'utf8').trim() : readFileSync(`/sys/fs/cgroup${path}/cpu.max`, 'utf8').split(' ')[0];
      expect(quota).toBe('25000');
    } finally {
      cap.dispose();
    }
  });
});

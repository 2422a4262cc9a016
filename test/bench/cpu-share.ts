/**
 * Runs a bench cycle with the CPU a Lambda function of a given memory size gets: "At 1,769 MB, a function has the
 * equivalent of one vCPU (one vCPU-second of credits per second)", in proportion below and above it (AWS Lambda
 * developer guide, "Configure Lambda function memory"). The share is enforced with a CFS quota in a cgroup of its own:
 * cgroup v1 (`cpu.cfs_quota_us` / `cpu.cfs_period_us` under the `cpu` hierarchy) or v2 (`cpu.max`). Where neither is
 * writable (not root, a read-only cgroupfs), the bench runs the cycle unconstrained and states the model it uses
 * instead: wall at the share = max(wall, CPU seconds / share), which is what a quota gives a process that would
 * otherwise have the CPU to itself.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Lambda's documented ratio: one vCPU at 1,769 MB, linear in memory. */
export const MB_PER_VCPU = 1769;
/** CFS period the quota is given in (the kernel's default). */
const PERIOD_US = 100_000;
const V1_ROOT = '/sys/fs/cgroup/cpu';
const V2_ROOT = '/sys/fs/cgroup';

export function lambdaCpuShare(memoryMiB: number): number {
  return memoryMiB / MB_PER_VCPU;
}

/** Wall time a cycle would take at `share` of one CPU, from its unconstrained wall and CPU time (the model). */
export function wallAtShare(wallMs: number, cpuMs: number, share: number): number {
  return Math.max(wallMs, cpuMs / share);
}

export type CpuShareMode = 'cgroup v1' | 'cgroup v2' | 'model';

export interface CpuCap {
  readonly share: number;
  readonly mode: CpuShareMode;
  /** Why the cgroup could not be used, when mode is `model`. */
  readonly reason?: string;
  /** The command that runs `command args` inside the cap (unchanged under the model). */
  wrap(command: string, args: readonly string[]): { command: string; args: string[] };
  /** Removes the cgroup (once no process is left in it). */
  dispose(): void;
}

/**
 * A cgroup capped at `share` of one CPU, named after this process. The wrapped command is `sh -c`, which moves itself
 * into the cgroup before it `exec`s the real command, so the process and every thread it starts run under the quota
 * from the first instruction.
 */
export function createCpuCap(share: number, name = `inferwatch-bench-${process.pid}`): CpuCap {
  const quotaUs = Math.max(1000, Math.round(share * PERIOD_US));
  const attempts: Array<[CpuShareMode, () => string]> = [
    ['cgroup v1', () => createV1(name, quotaUs)],
    ['cgroup v2', () => createV2(name, quotaUs)],
  ];
  const reasons: string[] = [];
  for (const [mode, create] of attempts) {
    try {
      const dir = create();
      const procs = join(dir, 'cgroup.procs');
      return {
        share,
        mode,
        wrap: (command, args) => ({ command: '/bin/sh', args: ['-c', 'echo $$ > "$1" && shift && exec "$@"', 'sh', procs, command, ...args] }),
        dispose: () => {
          try {
            rmdirSync(dir);
          } catch {
            // A cgroup with a process still in it cannot go; the next run's name differs.
          }
        },
      };
    } catch (error) {
      reasons.push(`${mode}: ${(error as Error).message}`);
    }
  }
  return { share, mode: 'model', reason: reasons.join('; '), wrap: (command, args) => ({ command, args: [...args] }), dispose: () => {} };
}

function createV1(name: string, quotaUs: number): string {
  if (!existsSync(join(V1_ROOT, 'cpu.cfs_quota_us'))) throw new Error(`${V1_ROOT}/cpu.cfs_quota_us not found (no cgroup v1 cpu hierarchy)`);
  const dir = join(V1_ROOT, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
  writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quotaUs));
  return dir;
}

function createV2(name: string, quotaUs: number): string {
  const controllers = join(V2_ROOT, 'cgroup.controllers');
  if (!existsSync(controllers)) throw new Error(`${controllers} not found (no cgroup v2 at ${V2_ROOT})`);
  if (!readFileSync(controllers, 'utf8').split(/\s+/).includes('cpu')) throw new Error(`the cpu controller is not available in ${controllers}`);
  const subtree = join(V2_ROOT, 'cgroup.subtree_control');
  if (!readFileSync(subtree, 'utf8').split(/\s+/).includes('cpu')) writeFileSync(subtree, '+cpu');
  const dir = join(V2_ROOT, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cpu.max'), `${quotaUs} ${PERIOD_US}`);
  return dir;
}

/**
 * Loaded into the bridge CLI with `node -r dist/test/bench/preload.js` by the fleet benchmark, so the CLI itself stays
 * untouched: on exit it writes its resource usage (peak RSS, user and system CPU) and the bytes it wrote to and read
 * from files under BENCH_STATE_DIR, as JSON, to BENCH_USAGE_FILE.
 *
 * Writes are counted where Node does them: `fs.writeSync`/`fs.write` on descriptors opened under the directory (which
 * also carries `fs.writeFile` and write streams), `writeFileSync`/`appendFileSync` themselves (their string path skips
 * `writeSync`), `fs/promises` `writeFile`/`appendFile`, and FileHandle writes. test/bench/preload.test.ts checks each.
 */
import { resolve, sep } from 'node:path';
// Default imports are the modules themselves, not import-star copies: their properties are what the CLI's modules call.
import fs from 'node:fs';
import fsp from 'node:fs/promises';

/**
 * The process's own peak RSS, KiB: `VmHWM` belongs to its address space, which exec replaces. `getrusage`'s
 * `ru_maxrss` does not reset at exec on Linux: a cycle spawned by a bench process holding gigabytes of stand-in data
 * reported the bench's RSS at fork time (1 GiB and more during catch-ups) instead of its own.
 */
function ownPeakRssKiB(): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface UsageReport {
  /** KiB: this process's own peak (VmHWM), else what process.resourceUsage() reports. */
  readonly maxRSS: number;
  /** Microseconds. */
  readonly userCPUTime: number;
  readonly systemCPUTime: number;
  readonly bytesWritten: number;
  readonly bytesRead: number;
  readonly filesWritten: number;
}

const usageFile = process.env.BENCH_USAGE_FILE;
const stateDir = process.env.BENCH_STATE_DIR ? resolve(process.env.BENCH_STATE_DIR) : undefined;

let bytesWritten = 0;
let bytesRead = 0;
const filesWritten = new Set<string>();
/** Descriptors opened under the state directory, to their paths. */
const tracked = new Map<number, string>();
/** Inside writeFileSync/appendFileSync: their own writeSync calls are already counted. */
let syncDepth = 0;

function under(path: unknown): string | undefined {
  if (!stateDir || (typeof path !== 'string' && !(path instanceof URL) && !Buffer.isBuffer(path))) return undefined;
  const full = resolve(path instanceof URL ? path.pathname : path.toString());
  return full === stateDir || full.startsWith(stateDir + sep) ? full : undefined;
}

function pathOf(target: unknown): string | undefined {
  if (typeof target === 'number') return tracked.get(target);
  if (target && typeof target === 'object' && 'fd' in target && typeof (target as { fd: unknown }).fd === 'number') return tracked.get((target as { fd: number }).fd);
  return under(target);
}

function sizeOf(data: unknown, encoding?: unknown): number {
  if (typeof data === 'string') return Buffer.byteLength(data, typeof encoding === 'string' ? (encoding as BufferEncoding) : typeof encoding === 'object' && encoding && 'encoding' in encoding ? ((encoding as { encoding: BufferEncoding }).encoding ?? 'utf8') : 'utf8');
  if (ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

function wrote(path: string | undefined, bytes: number): void {
  if (path === undefined || syncDepth > 0) return;
  bytesWritten += bytes;
  filesWritten.add(path);
}

type AnyFn = (...args: unknown[]) => unknown;
const mutableFs = fs as unknown as Record<string, AnyFn>;
const mutableFsp = fsp as unknown as Record<string, AnyFn>;

function patch(target: Record<string, AnyFn>, name: string, wrap: (original: AnyFn) => AnyFn): void {
  const original = target[name];
  if (typeof original === 'function') target[name] = wrap(original);
}

if (stateDir) {
  patch(mutableFs, 'openSync', (original) => function (this: unknown, ...args: unknown[]) {
    const fd = original.apply(this, args) as number;
    const path = under(args[0]);
    if (path) tracked.set(fd, path);
    else tracked.delete(fd);
    return fd;
  });
  patch(mutableFs, 'open', (original) => function (this: unknown, ...args: unknown[]) {
    const callback = args[args.length - 1] as (error: unknown, fd?: number) => void;
    const path = under(args[0]);
    return original.apply(this, [
      ...args.slice(0, -1),
      (error: unknown, fd?: number) => {
        if (!error && fd !== undefined) {
          if (path) tracked.set(fd, path);
          else tracked.delete(fd);
        }
        callback(error, fd);
      },
    ]);
  });
  patch(mutableFs, 'writeSync', (original) => function (this: unknown, ...args: unknown[]) {
    const written = original.apply(this, args) as number;
    wrote(tracked.get(args[0] as number), written);
    return written;
  });
  patch(mutableFs, 'writevSync', (original) => function (this: unknown, ...args: unknown[]) {
    const written = original.apply(this, args) as number;
    wrote(tracked.get(args[0] as number), written);
    return written;
  });
  for (const name of ['write', 'writev']) {
    patch(mutableFs, name, (original) => function (this: unknown, ...args: unknown[]) {
      const callback = args[args.length - 1];
      if (typeof callback !== 'function') return original.apply(this, args);
      const path = tracked.get(args[0] as number);
      return original.apply(this, [
        ...args.slice(0, -1),
        (error: unknown, written: number, ...rest: unknown[]) => {
          if (!error) wrote(path, written);
          (callback as AnyFn)(error, written, ...rest);
        },
      ]);
    });
  }
  for (const name of ['writeFileSync', 'appendFileSync']) {
    patch(mutableFs, name, (original) => function (this: unknown, ...args: unknown[]) {
      const path = pathOf(args[0]);
      syncDepth += 1;
      try {
        return original.apply(this, args);
      } finally {
        syncDepth -= 1;
        wrote(path, sizeOf(args[1], args[2]));
      }
    });
  }
  for (const name of ['writeFile', 'appendFile']) {
    patch(mutableFsp, name, (original) => async function (this: unknown, ...args: unknown[]) {
      const result = await (original.apply(this, args) as Promise<unknown>);
      wrote(pathOf(args[0]), sizeOf(args[1], args[2]));
      return result;
    });
  }
  for (const name of ['readFile']) {
    patch(mutableFsp, name, (original) => async function (this: unknown, ...args: unknown[]) {
      const result = await (original.apply(this, args) as Promise<unknown>);
      if (pathOf(args[0])) bytesRead += sizeOf(result);
      return result;
    });
  }
  patch(mutableFs, 'readFileSync', (original) => function (this: unknown, ...args: unknown[]) {
    const result = original.apply(this, args);
    if (pathOf(args[0])) bytesRead += sizeOf(result);
    return result;
  });
  let handlePatched = false;
  patch(mutableFsp, 'open', (original) => async function (this: unknown, ...args: unknown[]) {
    const handle = (await (original.apply(this, args) as Promise<fsp.FileHandle>));
    const path = under(args[0]);
    if (path) tracked.set(handle.fd, path);
    else tracked.delete(handle.fd);
    if (!handlePatched) {
      handlePatched = true;
      // FileHandle is not exported: its prototype is reached through the first handle.
      const proto = Object.getPrototypeOf(handle) as Record<string, AnyFn>;
      for (const method of ['write', 'writev']) {
        patch(proto, method, (inner) => async function (this: fsp.FileHandle, ...rest: unknown[]) {
          const result = (await (inner.apply(this, rest) as Promise<{ bytesWritten: number }>));
          wrote(tracked.get(this.fd), result.bytesWritten);
          return result;
        });
      }
      for (const method of ['writeFile', 'appendFile']) {
        patch(proto, method, (inner) => async function (this: fsp.FileHandle, ...rest: unknown[]) {
          const result = await (inner.apply(this, rest) as Promise<unknown>);
          wrote(tracked.get(this.fd), sizeOf(rest[0], rest[1]));
          return result;
        });
      }
    }
    return handle;
  });
}

if (usageFile) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    const report: UsageReport = {
      maxRSS: ownPeakRssKiB() ?? usage.maxRSS,
      userCPUTime: usage.userCPUTime,
      systemCPUTime: usage.systemCPUTime,
      bytesWritten,
      bytesRead,
      filesWritten: filesWritten.size,
    };
    fs.writeFileSync(usageFile, JSON.stringify(report));
  });
}

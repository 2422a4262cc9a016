/** Runs `worker` over the items of `source` with at most `limit` at once; the first failure stops new work and is thrown. */
export async function forEachConcurrently<T>(source: Iterable<T>, limit: number, worker: (item: T, index: number) => Promise<void>): Promise<void> {
  const iterator = source[Symbol.iterator]();
  let index = 0;
  let failed = false;
  const lanes = Array.from({ length: Math.max(1, limit) }, async () => {
    while (!failed) {
      const next = iterator.next();
      if (next.done) return;
      const current = index++;
      try {
        await worker(next.value, current);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  });
  const results = await Promise.allSettled(lanes);
  const rejection = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejection) throw rejection.reason;
}

/** Maps with at most `limit` calls in flight, keeping the order of `items`. */
export async function mapConcurrently<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  await forEachConcurrently(items, limit, async (item, index) => {
    results[index] = await fn(item);
  });
  return results;
}

/**
 * At most `perSecond` calls start in any second (spaced evenly), shared by every lane: keeps a cycle under an
 * AWS API's TPS quota (GetMetricData: 50 a region by default) whatever its concurrency.
 */
export class RateLimiter {
  private nextSlot = 0;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  async take(): Promise<void> {
    const interval = 1000 / this.perSecond;
    const now = this.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + interval;
    if (slot > now) await this.sleep(slot - now);
  }
}

import { setFlagsFromString } from 'node:v8';

/**
 * How much V8 lets the old generation grow past what survived its last full collection before the next one, in
 * percent (V8's `--heap-growing-percent`). A full 10,000-variant read keeps about 65 MB alive while its reads are in
 * flight and promotes 1.3 GB through the young generation; under V8's own factor for a heap capped at 30 % of the
 * function's memory (about 1.5) that is some 110 mark-compacts a cycle, a third of its CPU. At 100 % (a factor of 2)
 * the same cycle used 20.9 CPU-s instead of 29.6, for 309 MiB of peak RSS instead of 251 (test/bench/steady-pair.ts,
 * docs/measured.md): Lambda bills and throttles CPU by memory size, and at the default 1,024 MB the RSS is a third of it.
 */
export const HEAP_GROWING_PERCENT = 100;

let tuned = false;

/**
 * Sets the old generation's growing factor for this process, once. Node refuses the flag in `NODE_OPTIONS` (only a
 * few V8 flags are allowed there), so the Lambda's environment cannot carry it: the bridge sets it itself before its
 * first cycle. V8 reads the factor at each full collection, so setting it after start takes effect from the next one.
 */
export function tuneGarbageCollector(): void {
  if (tuned) return;
  tuned = true;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

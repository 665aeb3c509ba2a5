/**
 * Garbage-collector tuning for the `tunstack` process, applied before anything else is loaded.
 *
 * A stack serving short connections allocates ~20 KB of short-lived objects per connection (node:http's
 * request, response and parser state, stream bookkeeping); a fifth of each young-generation cycle is still
 * in flight when it is scavenged and moves to the old generation, where it dies soon after. V8 lets the old
 * generation grow up to 4× its live size before the next full collection, so under a Connection: close load
 * the heap swung between 14 and 60 MB and RSS reached 152 MiB. Growing by 1.5× instead keeps the peak near
 * 115 MiB for the same request rate (full collections of a ~14 MB live heap take ~6 ms).
 *
 * `--heap-growing-percent` is read at every heap-limit computation, so setting it at run time works (the
 * young generation's size, by contrast, is fixed when the isolate starts; NODE_OPTIONS can still set it).
 */
import v8 from 'node:v8';
import { PerformanceObserver } from 'node:perf_hooks';

const HEAP_GROWING_PERCENT = 50;

if (!process.execArgv.some((a) => a.startsWith('--heap-growing-percent')) && !(process.env['NODE_OPTIONS'] ?? '').includes('--heap-growing-percent')) {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/**
 * The young generation is held at YOUNG_GENERATION_CAP (V8's default lets it grow to 32 MiB, reported size).
 * Under a Connection: close load it grew from 16 to 32 MiB and RSS by 15 MiB with it (118 → 133 MiB at the
 * end of the peers' harness run), for no throughput: started with `--max-semi-space-size=8` the same run ended
 * at 118 MiB with keep-alive and new-connection rates unchanged (92.6k and 23.2k req/s). That flag only works
 * on the command line; what V8 does read at run time is the growth factor of the young generation, consulted
 * each time a collection decides to grow it. So after every collection: at the cap, stop growing (factor 1);
 * below it (V8 shrinks an idle heap), grow again (factor 2). A collection can overshoot by one doubling
 * before the observer runs; worker threads (`--workers`) get the cap from their resource limits instead.
 */
export const YOUNG_GENERATION_CAP = 16 * 1024 * 1024;

let youngFrozen = false;
/**
 * When the young generation was last looked at. Held at the cap, it is looked at no more than every
 * YOUNG_CHECK_MS, to see whether V8 shrank it: a Connection: close load collects hundreds of times a second,
 * and each look allocates the statistics of every space (~0.5% of the process's CPU under that load).
 */
let lastCheck = -Infinity;
const YOUNG_CHECK_MS = 100;

function holdYoungGeneration(): void {
  const now = performance.now();
  if (youngFrozen && now - lastCheck < YOUNG_CHECK_MS) return;
  lastCheck = now;
  const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  const atCap = young !== undefined && young.space_size >= YOUNG_GENERATION_CAP;
  if (atCap === youngFrozen) return;
  youngFrozen = atCap;
  v8.setFlagsFromString(`--semi-space-growth-factor=${atCap ? 1 : 2}`);
}

if (!process.execArgv.some((a) => a.startsWith('--max-semi-space-size')) && !(process.env['NODE_OPTIONS'] ?? '').includes('--max-semi-space-size')) {
  new PerformanceObserver(holdYoungGeneration).observe({ entryTypes: ['gc'] });
}

/**
 * The order vitest starts test files in. Its own sequencer runs the files that
 * took longest last time first, but a fresh clone (CI, a newcomer) has no such
 * record and it falls back to file size, which starts the one-minute live
 * suites last: two workers then sit with one long file each at the end. The
 * files below are the slowest measured in CI (seconds on 2 cores, Dec 2026);
 * they go first, in this order, and everything else follows in vitest's order.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const SLOWEST = [
  'test/adversarial/faults-impair.test.ts', // 80 s
  'test/adversarial/faults.test.ts', // 65 s
  'test/adversarial/soak.test.ts', // 66 s
  'test/adversarial/hostile.test.ts', // 63 s
  'test/interop/observe-dashboard.test.ts', // 54 s
  'test/interop/ops.test.ts', // 41 s
  'test/interop/ops-http.test.ts', // 21 s
  'test/interop/workers.test.ts', // 21 s
  'test/interop/frag-ping.test.ts', // 15 s
  'test/interop/http-server.test.ts', // 15 s
  'test/property/fuzz-input-path.test.ts', // 9 s
];

export class SlowestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rest = await super.sort(files);
    const rank = (f: TestSpecification): number => {
      const i = SLOWEST.findIndex((p) => f.moduleId.endsWith(p));
      return i < 0 ? SLOWEST.length : i;
    };
    return rest.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
  }
}

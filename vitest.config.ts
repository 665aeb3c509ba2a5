import { defineConfig } from 'vitest/config';
import { SlowestFirstSequencer } from './test/slowest-first.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Interop tests share network namespaces and the TUN driver: keep files in one worker pool of two.
    // No isolation between the files a worker runs: each worker imports src/ once instead of once per
    // file (the collect phase was most of the suite's time). No test mocks modules or changes globals.
    poolOptions: { forks: { maxForks: 2, minForks: 1, isolate: false } },
    pool: 'forks',
    sequence: { sequencer: SlowestFirstSequencer },
  },
});

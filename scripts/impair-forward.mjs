#!/usr/bin/env node
// A userspace wire between two TUN devices through tunstack's impairment stage (src/link/impair.ts), for
// the kernel's side of `npm run bench` (group recovery): this kernel has no netem, so the same stage that
// sits in front of `tunstack up --impair SPEC` sits between the client's and the server's kernels.
//
//   node scripts/impair-forward.mjs DEV_A DEV_B SPEC
//
// Opens (creates) the TUN devices DEV_A and DEV_B, without offloads, in the current namespace, and prints
// `ready` once both are open; the caller may then move DEV_B to another namespace and configure addresses
// and routes. Packets read from DEV_A go through the stage's `out` direction and are written to DEV_B;
// packets read from DEV_B go through its `in` direction and are written to DEV_A. SIGTERM/SIGINT: prints
// the stage's counters as one JSON line and exits.
import { TunLink } from '../dist/link/tun.js';
import { ImpairedLink } from '../dist/link/impair.js';
import { parseImpairSpec } from '../dist/link/impair-spec.js';
import { RealClock, RealTimerDriver, TimerQueue } from '../dist/clock.js';

const [devA, devB, specText] = process.argv.slice(2);
if (!devA || !devB || !specText) {
  console.error('usage: impair-forward.mjs DEV_A DEV_B SPEC');
  process.exit(2);
}
const spec = parseImpairSpec(specText);
if ('error' in spec) {
  console.error(`impair-forward: ${spec.error}`);
  process.exit(2);
}
const clock = new RealClock();
const timers = new TimerQueue();
const a = TunLink.open({ name: devA, offload: false, mtu: 1500 });
const b = TunLink.open({ name: devB, offload: false, mtu: 1500 });
const stage = new ImpairedLink(b, spec, clock, timers);
// The stage keeps outbound packets it delays without copying them (a stack's are its own); a TUN's receive
// views are reused after the call, so A's packets are copied first.
a.setReceiver((packets, count) => {
  const own = new Array(count);
  for (let i = 0; i < count; i++) own[i] = packets[i].slice();
  stage.send(own, count);
});
stage.setReceiver((packets, count) => a.send(packets, count));
const driver = new RealTimerDriver(clock, timers);
console.log('ready');
const stop = () => {
  driver.stop();
  console.log(JSON.stringify({ out: stage.stats.out, in: stage.stats.in, txDropsA: a.txDrops, txDropsB: b.txDrops }));
  stage.close();
  a.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

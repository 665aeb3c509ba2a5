// `npm run bench`, group `recovery` (BENCH_ONLY=recovery): 20 MB downloads through three impairments,
// tunstack beside Node's http on the kernel, each with its server's retransmitted segments counted.
//
//   loss     1% of packets dropped at random each way: iptables `statistic` on the client's side of the
//            path (tun0 for tunstack, the veth for the kernel), as the `loss` group does.
//   reorder  25% of packets skip a 5 ms delay, each way (no loss): `--impair reorder=25%,delay=5ms,seed=3`
//            in front of tunstack's TUN; for the kernel (no netem here) the same stage in a userspace wire
//            (scripts/impair-forward.mjs) between two TUN devices, one in each namespace, which the client's
//            route to the server takes instead of the veth for this download.
//   ce       2% of the server's ECT(0) data packets marked CE (iptables mangle: `-m ecn --ecn-ip-ect 2 -m
//            statistic ... -j TOS --set-tos 0x03/0x03`, which rewrites the two ECN bits) on the client's
//            side, the client's kernel with net.ipv4.tcp_ecn=1 (the server accepts ECN: tcp_ecn=2 on both).
//
// Each download is sha256-checked. Retransmitted segments are the server's own count (Tcp RetransSegs: the
// kernel's in its namespace, tunstack's from /_stack/stats) over the download; CE deliveries likewise
// (TcpExt TCPDeliveredCE). The kernel's figures of record run CUBIC, as tunstack does (internal pacing on, as
// `tunstack up` has it); a namespace default that differs (bbr on this machine) is measured beside them
// (scripts/bench.mjs). The loss and CE downloads run again at an equal round trip (DELAY_SPEC).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RECOVERY_BYTES = 20_000_000;
export const REORDER_SPEC = 'reorder=25%,delay=5ms,seed=3';
/**
 * The equal-round-trip figures: loss and CE again with the same stage adding 1 ms each way in both paths
 * (tunstack behind `--impair`, the kernel behind scripts/impair-forward.mjs). Over the bare links the kernel's
 * round trip over the veth is ~15 times shorter than any TUN stack's, and a window-limited sender's rate under
 * loss or CE is its window over the round trip; with 2 ms added to both, the two congestion controls compare.
 */
export const DELAY_SPEC = 'delay=1ms';
const forwarder = fileURLToPath(new URL('./impair-forward.mjs', import.meta.url));

/**
 * ctx: { A, B, inA(args, timeout), sh(cmd, timeout), tmp, want (sha256 of the pattern), counters(addr) →
 * { RetransSegs, OutSegs, DeliveredCE } of the server at addr, forgetMetrics() → flushes both kernels'
 * tcp_metrics }.
 */
function download(ctx, addr) {
  // Every download starts clean: Linux caches per-destination metrics (ssthresh, reordering, RTT) in
  // tcp_metrics, and a figure must not inherit what the previous impairment taught the kernel.
  ctx.forgetMetrics?.();
  const out = join(ctx.tmp, 'recovery.bin');
  const before = ctx.counters(addr);
  const r = ctx.inA(['curl', '-s', '-m', '110', '-o', out, '-w', '%{size_download} %{time_total}', `http://${addr}/bytes?n=${RECOVERY_BYTES}`], 120_000);
  const after = ctx.counters(addr);
  const m = /^(\d+) ([\d.]+)$/.exec(r.out.trim());
  let got = '';
  try {
    got = createHash('sha256').update(readFileSync(out)).digest('hex');
  } catch {
    /* no file */
  }
  rmSync(out, { force: true });
  if (!m) return { error: r.out.trim() || `curl exit ${r.status}` };
  return {
    MBps: Math.round((Number(m[1]) / Number(m[2]) / 1e6) * 100) / 100,
    shaOk: got === ctx.want,
    retrans: after.RetransSegs - before.RetransSegs,
    segments: after.OutSegs - before.OutSegs,
    deliveredCe: after.DeliveredCE - before.DeliveredCE,
  };
}

/** iptables rules added for one download, removed after it whatever happens. */
function withRules(ctx, rules, fn) {
  const added = [];
  for (const r of rules) {
    if (ctx.inA(['iptables', ...r.table, '-A', ...r.rule]).status !== 0) {
      for (const a of added) ctx.inA(['iptables', ...a.table, '-D', ...a.rule]);
      return { error: `iptables refused: ${r.rule.join(' ')}` };
    }
    added.push(r);
  }
  try {
    return fn();
  } finally {
    for (const a of added) ctx.inA(['iptables', ...a.table, '-D', ...a.rule]);
  }
}

/** 1% random loss each way on `iface` (the client's side). */
export function lossFigure(ctx, addr, iface) {
  const stat = ['-m', 'statistic', '--mode', 'random', '--probability', '0.01', '-j', 'DROP'];
  return withRules(ctx, [
    { table: [], rule: ['INPUT', '-i', iface, ...stat] },
    { table: [], rule: ['OUTPUT', '-o', iface, ...stat] },
  ], () => download(ctx, addr));
}

/** 2% of the server's ECT(0) packets arriving on `iface` marked CE; the client asks for ECN (tcp_ecn=1). */
export function ceFigure(ctx, addr, iface) {
  const prev = ctx.inA(['sysctl', '-n', 'net.ipv4.tcp_ecn']).out.trim() || '2';
  ctx.inA(['sysctl', '-qw', 'net.ipv4.tcp_ecn=1']);
  try {
    return withRules(ctx, [
      { table: ['-t', 'mangle'], rule: ['PREROUTING', '-i', iface, '-p', 'tcp', '--sport', '80', '-m', 'ecn', '--ecn-ip-ect', '2', '-m', 'statistic', '--mode', 'random', '--probability', '0.02', '-j', 'TOS', '--set-tos', '0x03/0x03'] },
    ], () => download(ctx, addr));
  } finally {
    ctx.inA(['sysctl', '-qw', `net.ipv4.tcp_ecn=${prev}`]);
  }
}

/** tunstack behind `--impair REORDER_SPEC` (the caller started it so): one download. */
export function stackReorderFigure(ctx, addr) {
  return download(ctx, addr);
}

/**
 * The kernel through the same stage: the forwarder opens fwa/fwb in A, fwb moves to B, and /32 routes send
 * the client's traffic to the kernel server (kernelAddr, clientAddr on the veth) through the wire instead of
 * the veth for the one download.
 */
export async function kernelReorderFigure(ctx, kernelAddr, clientAddr) {
  return kernelThroughWire(ctx, kernelAddr, clientAddr, REORDER_SPEC, () => download(ctx, kernelAddr));
}

/** The kernel behind the stage with DELAY_SPEC: the loss and CE figures, their rules on the wire's client end. */
export async function kernelDelayedFigures(ctx, kernelAddr, clientAddr) {
  return kernelThroughWire(ctx, kernelAddr, clientAddr, DELAY_SPEC, (dev) => lossAndCeFigures(ctx, kernelAddr, dev));
}

/** The 1%-loss and the CE download from the server at addr, their rules on the client's `iface`. */
export function lossAndCeFigures(ctx, addr, iface) {
  return { loss: lossFigure(ctx, addr, iface), ce: ceFigure(ctx, addr, iface) };
}

/**
 * Runs measure(clientDev) with the kernel's traffic through the stage with `spec`: the forwarder opens fwa/fwb
 * in A, fwb moves to B, and /32 routes send the client's traffic to the kernel server through the wire instead
 * of the veth.
 */
async function kernelThroughWire(ctx, kernelAddr, clientAddr, spec, measure) {
  const fwa = `fwa${process.pid % 100000}`;
  const fwb = `fwb${process.pid % 100000}`;
  const p = spawn('ip', ['netns', 'exec', ctx.A, process.execPath, forwarder, fwa, fwb, spec], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  const ready = await new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), 10_000);
    p.stdout.on('data', () => {
      if (out.includes('ready')) {
        clearTimeout(t);
        resolve(true);
      }
    });
    p.once('exit', () => resolve(false));
  });
  const inB = (args) => ctx.sh(['ip', 'netns', 'exec', ctx.B, ...args]);
  try {
    if (!ready) return { error: 'the impairment forwarder did not start' };
    const steps = [
      ['ip', '-n', ctx.A, 'link', 'set', fwb, 'netns', ctx.B],
      ['ip', '-n', ctx.A, 'link', 'set', fwa, 'up'],
      ['ip', '-n', ctx.B, 'link', 'set', fwb, 'up'],
      ['ip', '-n', ctx.A, 'route', 'add', `${kernelAddr}/32`, 'dev', fwa, 'src', clientAddr],
      ['ip', '-n', ctx.B, 'route', 'add', `${clientAddr}/32`, 'dev', fwb, 'src', kernelAddr],
    ];
    for (const s of steps) if (ctx.sh(s).status !== 0) return { error: `failed: ${s.join(' ')}` };
    return measure(fwa);
  } finally {
    ctx.sh(['ip', '-n', ctx.A, 'route', 'del', `${kernelAddr}/32`, 'dev', fwa]);
    inB(['ip', 'route', 'del', `${clientAddr}/32`, 'dev', fwb]);
    if (p.exitCode === null) {
      const done = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]);
      if (p.exitCode === null) p.kill('SIGKILL');
    }
  }
}

/** One line per figure for the report under the table. */
export function recoveryLine(r) {
  if (!r) return '-';
  if (r.error) return r.error;
  return `${r.MBps} MB/s, ${r.shaOk ? 'sha256 ok' : 'sha256 WRONG'}, ${r.retrans} of ${r.segments} segments retransmitted (${r.segments > 0 ? Math.round((10000 * r.retrans) / r.segments) / 10 : '-'}‰)${r.deliveredCe ? `, ${r.deliveredCe} CE deliveries` : ''}`;
}

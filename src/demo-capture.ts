/**
 * The demo's last check: tshark reads the stack's capture with every checksum
 * verified and finds nothing wrong with it.
 *
 * "Wrong" is any expert item of severity warning or error (bad checksum,
 * malformed packet, a segment missing from the capture, ...) except one: a
 * D-SACK (RFC 2883) from the kernel side. tshark files that under warnings, but
 * it is the peer reporting a retransmission it did not need — on a machine busy
 * enough to hold the receiving curl off the CPU for longer than the probe
 * timeout, the stack's tail loss probe (RFC 8985 §7, Linux tcp_send_loss_probe)
 * goes out before the ACK does, exactly as Linux's would. Such frames are
 * counted and shown, not failed.
 */
import { spawnSync } from 'node:child_process';

/** tshark's expert message for a SACK block below the cumulative ACK (RFC 2883 §4). */
const DSACK_MESSAGE = 'D-SACK Sequence';
/** tshark's PI_WARN: expert severities at or above it fail the check. */
const SEVERITY_WARNING = 0x00600000;

export interface CaptureVerdict {
  /** Frames tshark read. */
  packets: number;
  /** Frames with an expert warning or error other than a D-SACK. */
  warnings: number;
  /** Frames whose only warnings are D-SACKs. */
  dsacks: number;
  /** Up to three of the warnings, `frame: message`. */
  examples: string[];
}

/**
 * One line of `tshark -T fields -e frame.number -e _ws.expert.severity -e _ws.expert.message`
 * with `|` between the items of one frame → whether the frame counts, and why.
 */
export function classifyExpertLine(line: string): { kind: 'warning' | 'dsack' | 'clean'; example: string } {
  const [frame = '', severities = '', messages = ''] = line.split('\t');
  const sev = severities.split('|');
  const msg = messages.split('|');
  let dsack = false;
  for (let i = 0; i < sev.length; i++) {
    if (Number(sev[i]) < SEVERITY_WARNING) continue;
    const m = msg[i] ?? '';
    if (m === DSACK_MESSAGE) dsack = true;
    else return { kind: 'warning', example: `${frame}: ${m}` };
  }
  return { kind: dsack ? 'dsack' : 'clean', example: '' };
}

/** Reads `pcap` with tshark (IP, TCP and UDP checksums checked; one pass) and sorts its expert warnings. */
export function tsharkVerdict(pcap: string, tshark = 'tshark'): CaptureVerdict | Error {
  const args = ['-r', pcap, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'];
  args.push('-T', 'fields', '-E', 'aggregator=|', '-e', 'frame.number', '-e', '_ws.expert.severity', '-e', '_ws.expert.message');
  const r = spawnSync(tshark, args, { encoding: 'utf8', timeout: 120_000, maxBuffer: 256 << 20 });
  if (r.status !== 0) return new Error(`tshark -r ${pcap}: ${(r.stderr ?? '').trim().split('\n').pop() || `exit ${r.status}`}`);
  const verdict: CaptureVerdict = { packets: 0, warnings: 0, dsacks: 0, examples: [] };
  for (const line of r.stdout.split('\n')) {
    if (line.trim() === '') continue;
    verdict.packets++;
    const c = classifyExpertLine(line);
    if (c.kind === 'warning') {
      verdict.warnings++;
      if (verdict.examples.length < 3) verdict.examples.push(c.example);
    } else if (c.kind === 'dsack') verdict.dsacks++;
  }
  return verdict;
}

/** The demo's report line for a verdict. */
export function verdictDetail(v: CaptureVerdict): string {
  const dsack = v.dsacks > 0 ? `; ${v.dsacks} D-SACK${v.dsacks === 1 ? '' : 's'} from the peer (a probe it did not need)` : '';
  const ex = v.examples.length > 0 ? ` (${v.examples.join('; ')})` : '';
  return `${v.packets} packets, ${v.warnings} warnings${ex}${dsack}`;
}

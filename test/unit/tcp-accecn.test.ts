import { describe, expect, it } from 'vitest';
import { runScript } from '../../src/conform/runner.js';
import { aceDelta, aceOf, accEcnSynAccepted, accEcnSynRequested, ectTransitionValid, nextPktsAckedEwma, synAckAceFlags, synEctFromAce, type AceSample } from '../../src/tcp/accecn.js';
import { fitFields, optFieldToEcnField, optionSeen, processOption, updateEcnBytes } from '../../src/tcp/accecn-option.js';
import { ACCECN_MODE_ACCECN, ACCECN_OPT_COUNTER_SEEN, ACCECN_OPT_EMPTY_SEEN, ACCECN_OPT_FAIL_RECV, ACCECN_OPT_FAIL_SEEN, AccEcnState } from '../../src/tcp/accecn-state.js';
import { ECN_CE, ECN_ECT0, ECN_NOT_ECT } from '../../src/tcp/ecn.js';
import { TCP_ACK, TCP_AE, TCP_CWR, TCP_ECE, TCP_SYN, TcpHeader, emitTcp, formatTcpOptionBytes, parseTcp, tcpHeaderLength, type TcpOptions } from '../../src/wire/tcp.js';

const sample = (over: Partial<AceSample>): AceSample => ({ ace: 5, deliveredPkts: 1, deliveredBytes: 1000, optValid: false, ceBytesDelta: 0, exactDelivered: true, mss: 1000, pktsAckedEwma: 64, ...over });

describe('the ACE field (RFC 9768 §3.2.2; Linux __tcp_accecn_process)', () => {
  it('reads AE,CWR,ECE as a 3-bit number', () => {
    expect(aceOf(TCP_AE | TCP_ECE)).toBe(5);
    expect(aceOf(TCP_CWR)).toBe(2);
    expect(aceOf(TCP_ACK)).toBe(0);
  });

  it('counts the step from the CE marks counted so far, r.cep starting at 5', () => {
    expect(aceDelta(0, sample({ ace: 5 }))).toBe(0);
    expect(aceDelta(0, sample({ ace: 6 }))).toBe(1);
    expect(aceDelta(0, sample({ ace: 0 }))).toBe(3); // 5 → 8 wraps to 0
  });

  it('reads a field that went backwards as a step of up to 7 forwards (modulo 8, as Linux)', () => {
    // 1 CE mark counted (ACE was 6); the peer now says 5: (5 − 5 − 1) mod 8 = 7 new marks.
    expect(aceDelta(1, sample({ ace: 5 }))).toBe(7);
  });

  it('assumes the most wraps an ACK of more than 7 segments allows, unless the option says otherwise', () => {
    // 20 segments acknowledged, ACE moved by 2: 2, 10 or 18 marks are possible — without option, safe = 18.
    expect(aceDelta(0, sample({ ace: 7, deliveredPkts: 20, deliveredBytes: 20000 }))).toBe(18);
    // ACK thinning (EWMA of packets per ACK above 4): the plain step.
    expect(aceDelta(0, sample({ ace: 7, deliveredPkts: 20, deliveredBytes: 20000, pktsAckedEwma: 5 << 6 }))).toBe(2);
    // The option reports 2000 CE bytes of 20000: about 2 segments — the plain step (plus no wrap).
    expect(aceDelta(0, sample({ ace: 7, deliveredPkts: 20, deliveredBytes: 20000, optValid: true, ceBytesDelta: 2000 }))).toBe(2);
    // It reports 10000 CE bytes: 10 segments, one wrap.
    expect(aceDelta(0, sample({ ace: 7, deliveredPkts: 20, deliveredBytes: 20000, optValid: true, ceBytesDelta: 10000 }))).toBe(10);
    // No CE bytes at all by the option: the plain step.
    expect(aceDelta(0, sample({ ace: 7, deliveredPkts: 20, deliveredBytes: 20000, optValid: true, ceBytesDelta: 0 }))).toBe(2);
  });

  it('keeps the packets-per-ACK average as Linux (weight 1/64, 6 fraction bits, capped)', () => {
    expect(nextPktsAckedEwma(0, 2)).toBe(128);
    expect(nextPktsAckedEwma(128, 2)).toBe(128);
    expect(nextPktsAckedEwma(128, 66)).toBe(192);
    expect(nextPktsAckedEwma(0xffff, 60000)).toBe(0xffff);
  });
});

describe('AccECN negotiation codepoints (RFC 9768 §3.1, Tables 2 and 4)', () => {
  it('takes any AE,CWR,ECE but 000 and 011 as a request, only with tcp_ecn 3..5', () => {
    for (let ace = 0; ace < 8; ace++) {
      const f = (ace & 4 ? TCP_AE : 0) | (ace & 2 ? TCP_CWR : 0) | (ace & 1 ? TCP_ECE : 0);
      expect(accEcnSynRequested(TCP_SYN | f)).toBe(ace !== 0 && ace !== 3);
      expect(accEcnSynAccepted(2, TCP_SYN | f)).toBe(false);
      expect(accEcnSynAccepted(5, TCP_SYN | f)).toBe(ace !== 0 && ace !== 3);
    }
  });

  it("echoes the SYN's ECN field on the SYN-ACK and reads it back", () => {
    expect(aceOf(synAckAceFlags(ECN_NOT_ECT))).toBe(0b010);
    expect(aceOf(synAckAceFlags(1))).toBe(0b011);
    expect(aceOf(synAckAceFlags(ECN_ECT0))).toBe(0b100);
    expect(aceOf(synAckAceFlags(ECN_CE))).toBe(0b110);
    for (const e of [0, 1, 2, 3]) expect(synEctFromAce(aceOf(synAckAceFlags(e)))).toBe(e);
  });

  it('knows which ECN field rewrites a path can make', () => {
    expect(ectTransitionValid(ECN_NOT_ECT, ECN_NOT_ECT)).toBe(true);
    expect(ectTransitionValid(ECN_NOT_ECT, ECN_CE)).toBe(false);
    expect(ectTransitionValid(ECN_ECT0, ECN_CE)).toBe(true);
    expect(ectTransitionValid(ECN_CE, ECN_ECT0)).toBe(false);
  });
});

describe('the AccECN option (RFC 9768 §3.2.3)', () => {
  it('maps fields by order: 172 is EE0B, ECEB, EE1B; 174 is EE1B, ECEB, EE0B', () => {
    expect([0, 1, 2].map((i) => optFieldToEcnField(i, false))).toEqual([ECN_ECT0, ECN_CE, 1]);
    expect([0, 1, 2].map((i) => optFieldToEcnField(i, true))).toEqual([1, ECN_CE, ECN_ECT0]);
  });

  it('folds 24-bit counters across their wrap, and a step back as negative', () => {
    const c = new Uint32Array(3);
    c[1] = 0xfffff0;
    expect(updateEcnBytes(c, 1, 0x000011, 1)).toBe(0x20); // (0x11 − 1) − 0xfffff0 mod 2^24
    expect(c[1]).toBe(0x1000010);
    expect(updateEcnBytes(c, 1, 0x000001, 1)).toBe(-0x10);
    expect(c[1]).toBe(0x1000000);
  });

  it('recognises a zeroed option (a middlebox) and an empty one', () => {
    const h = new TcpHeader();
    h.accecnOrder = 1;
    h.accecnFields = 0;
    expect(optionSeen(h)).toBe(ACCECN_OPT_EMPTY_SEEN);
    h.accecnFields = 3;
    h.accecnField.set([0, 0, 1]);
    expect(optionSeen(h)).toBe(ACCECN_OPT_FAIL_SEEN);
    h.accecnField.set([1, 0, 0]);
    expect(optionSeen(h)).toBe(ACCECN_OPT_FAIL_SEEN);
    h.accecnField.set([1, 7, 1]);
    expect(optionSeen(h)).toBe(ACCECN_OPT_COUNTER_SEEN);
  });

  it('stops trusting the peer after a zeroed option, and distrusts counters that go back', () => {
    const st = new AccEcnState(ACCECN_MODE_ACCECN);
    const h = new TcpHeader();
    h.accecnOrder = 1;
    h.accecnFields = 3;
    h.accecnField.set([1, 1000, 1]);
    expect(processOption(st, h, 1000, 5000)).toBe(false); // first change: estimate only
    expect(st.deliveredBytes[ECN_CE - 1]).toBe(1000);
    expect(st.estEcnField).toBe(ECN_CE);
    h.accecnField.set([1, 2000, 1]);
    expect(processOption(st, h, 1000, 5000)).toBe(true);
    h.accecnField.set([1, 1500, 1]);
    expect(processOption(st, h, 1000, 5000)).toBe(false);
    expect(st.estEcnField).toBe(0);
    const z = new AccEcnState(ACCECN_MODE_ACCECN);
    h.accecnField.set([0, 0, 0]);
    processOption(z, h, 0, 0);
    expect(z.failMode & ACCECN_OPT_FAIL_RECV).toBeTruthy();
    h.accecnField.set([1, 1000, 1]);
    expect(processOption(z, h, 1000, 0)).toBe(false);
    expect(z.deliveredBytes[ECN_CE - 1]).toBe(0);
  });

  it('fits fields as Linux tcp_options_fit_accecn', () => {
    expect(fitFields(0, 28, 0, 0) >> 4).toBe(3); // 12 bytes with timestamps
    expect(fitFields(0, 8, 0, 0) >> 4).toBe(2);
    expect(fitFields(0, 4, 0, 2) >> 4).toBe(1); // a SACK's NOPs take the leftover byte
    expect(fitFields(0, 0, 0, 2) >> 4).toBe(0);
    expect(fitFields(2, 4, 0, 0)).toBe(-1);
    // Timestamps and 3 SACK blocks leave nothing: one block gives way for the 2 fields required.
    expect(fitFields(2, 0, 3, 2)).toBe(2 * 16 + 1);
  });

  const roundTrip = (opts: TcpOptions): { text: string; len: number; h: TcpHeader } => {
    const b = new Uint8Array(80);
    const fields = { srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: TCP_ACK, window: 100, options: opts };
    const hl = emitTcp(b, 0, fields, 0, 1, 2);
    expect(hl).toBe(tcpHeaderLength(fields));
    const h = parseTcp(b.subarray(0, hl));
    if (typeof h === 'string') throw new Error(h);
    return { text: formatTcpOptionBytes(b, 20, hl), len: hl - 20, h };
  };

  it("writes Linux's layouts, short options folding into the NOPs that follow", () => {
    const ts = { val: 7, ecr: 9 };
    const three = roundTrip({ ts, accecn: { fields: 3, e1b: 1, ceb: 500, e0b: 1001 } });
    expect(three.text).toBe('nop,nop,TS val 7 ecr 9,ECN e1b 1 ceb 500 e0b 1001,nop');
    expect(three.h.accecnOrder).toBe(1);
    expect(Array.from(three.h.accecnField)).toEqual([1, 500, 1001]);
    expect(roundTrip({ ts, accecn: { fields: 2, e1b: 1, ceb: 0, e0b: 1 } }).text).toBe('nop,nop,TS val 7 ecr 9,ECN e1b 1 ceb 0');
    const one = roundTrip({ ts, sack: [10, 20], sackCount: 1, accecn: { fields: 1, e1b: 0x010203, ceb: 0, e0b: 0 } });
    expect(one.text).toBe('nop,nop,TS val 7 ecr 9,ECN e1b 66051,nop,sack 10:20');
    expect(one.len).toBe(12 + 4 + 4 + 8);
    const zero = roundTrip({ ts, accecn: { fields: 0, e1b: 1, ceb: 0, e0b: 1 } });
    expect(zero.text).toBe('nop,nop,TS val 7 ecr 9,ECN,nop,nop');
    expect(zero.len).toBe(16);
  });
});

describe('AccECN on a connection (Linux 6.18 tcp_ecn.h)', () => {
  const SERVER = `\`sysctl -q net.ipv4.tcp_ecn=3\`
\`sysctl -q net.ipv4.tcp_congestion_control=reno\`
0      socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0     bind(3, ..., ...) = 0
+0     listen(3, 1) = 0
+0     < SEWA 0:0(0) win 32792 <mss 1000,nop,nop,sackOK,nop,wscale 7>
+0     > S.2 0:0(0) ack 1 <mss 1460,ECN e1b 1 ceb 0 e0b 1,nop,nop,nop,sackOK,nop,wscale 10>
+.1    < .2 1:1(0) ack 1 win 500
+0     accept(3, ..., ...) = 4
+0     write(4, ..., 30000) = 30000
+0     > [ect0] P.5 1:10001(10000) ack 1
`;

  it('answers a rise of the ACE field as ECE: one reduction (CWR, PRR), no CWR flag, counted in TCPDeliveredCE', async () => {
    const r = await runScript(
      SERVER +
        `+0     \`nstat > /dev/null\`
+.1    < .6 1:1(0) ack 1001 win 500
+0     > [ect0] .5 10001:11001(1000) ack 1
+0     getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_ca_state=TCP_CA_CWR, tcpi_snd_cwnd=10, tcpi_snd_ssthresh=5, tcpi_delivered_ce=1}, [232]) = 0
+0     \`nstat | grep TcpExtTCPDeliveredCE > /dev/null\`
`,
    );
    expect(r.status, r.reason).toBe('pass');
  });

  it('takes an ACE field that jumps backwards as 7 new marks, inside the same reduction, and goes on sending', async () => {
    const r = await runScript(
      SERVER +
        `+.1    < .6 1:1(0) ack 1001 win 500
+0     > [ect0] .5 10001:11001(1000) ack 1
+.01   < .5 1:1(0) ack 2001 win 500
+0     getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_ca_state=TCP_CA_CWR, tcpi_snd_ssthresh=5, tcpi_delivered_ce=8}, [232]) = 0
+.01   < .5 1:1(0) ack 3001 win 500
+0     > [ect0] .5 11001:12001(1000) ack 1
`,
    );
    expect(r.status, r.reason).toBe('pass');
  });

  it('ignores a reordered ACK (no progress): its ACE says nothing', async () => {
    const r = await runScript(
      SERVER +
        `+.1    < .5 1:1(0) ack 1001 win 500
+0     > [ect0] .5 10001:11001(1000) ack 1
+.01   < .7 1:1(0) ack 1001 win 500
+0     getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_delivered_ce=0}, [232]) = 0
`,
    );
    expect(r.status, r.reason).toBe('pass');
  });

  it('counts CE-marked segments received, pure ACKs too, and echoes r.cep at once on a change of the ECN field', async () => {
    const r = await runScript(
      SERVER.replace(/\+0 +write[^\n]*\n[^\n]*\n$/, '') +
        `+.1    < [ce] .5 1:1(0) ack 1 win 500
+.01   < [ce] P.5 1:101(100) ack 1 win 500
+0     > [ect0] .7 1:1(0) ack 101
+0     getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_received_ce=2, tcpi_received_ce_bytes=100, tcpi_received_e0_bytes=0}, [232]) = 0
`,
    );
    expect(r.status, r.reason).toBe('pass');
  });

  it('ignores AE, CWR and ECE on a connection that negotiated no ECN (Linux: tcp_ecn_mode off, the flags mean nothing)', async () => {
    const r = await runScript(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0     bind(3, ..., ...) = 0
+0     listen(3, 1) = 0
+0     < S 0:0(0) win 32792 <mss 1000,nop,nop,sackOK,nop,wscale 7>
+0     > S. 0:0(0) ack 1 <...>
+.1    < .7 1:1(0) ack 1 win 500
+0     accept(3, ..., ...) = 4
+0     write(4, ..., 1000) = 1000
+0     > [noecn] P. 1:1001(1000) ack 1
+.01   < [ce] P.7 1:1001(1000) ack 1001 win 500
+0     > [noecn] . 1001:1001(0) ack 1001
+0     getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_ca_state=TCP_CA_Open, tcpi_snd_cwnd=11, tcpi_received_ce=0, tcpi_delivered_ce=0}, [232]) = 0
+0     read(4, ..., 1000) = 1000
`);
    expect(r.status, r.reason).toBe('pass');
  });
});

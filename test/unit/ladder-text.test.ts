import { describe, expect, it } from 'vitest';
import { LadderText } from '../../src/observe/ladder.js';

describe('the text ladder', () => {
  it('names the unit of its times and draws each segment as an arrow between the two ends', () => {
    const l = new LadderText({ a: '10.77.0.1:40000', b: '10.77.0.2:80' }, 70);
    expect(l.header()).toMatch(/^ +time \(ms\) +10\.77\.0\.1:40000 +10\.77\.0\.2:80$/);
    expect(l.line({ t: 5, fromA: true, seq: 100, ack: 0, flags: 0x02, len: 0, win: 64240, rtx: false })).toMatch(/^ +\+0\.000 +\|-+ SYN seq 0 win 64240 -+>\|$/);
    expect(l.line({ t: 6.5, fromA: false, seq: 900, ack: 101, flags: 0x12, len: 0, win: 65160, rtx: false })).toMatch(/^ +\+1\.500 +\|<-+ SYN,ACK seq 0 ack 1 win 65160 -+\|$/);
  });
});

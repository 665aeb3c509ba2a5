import { describe, expect, it } from 'vitest';
import { LadderText, traceSvg, type TraceSeg } from '../../src/observe/ladder.js';

const seg = (o: Partial<TraceSeg>): TraceSeg => ({ t: 0, fromA: true, seq: 1, ack: 1, flags: 0x18, len: 10, win: 100, rtx: false, ...o });

describe('what the payload carried, on the ladder', () => {
  it('the text ladder puts the note right of the arrow and leaves a segment without one as it was', () => {
    const l = new LadderText({ a: 'a', b: 'b' }, 70);
    const plain = l.line(seg({}));
    expect(plain).toMatch(/>\|$/);
    expect(l.line(seg({ note: 'ClientHello (SNI x.test)' }))).toBe(`${plain}  ClientHello (SNI x.test)`);
  });

  it('the SVG shows notes (escaped, shortened) beside the right end and the subtitle under the title', () => {
    const svg = traceSvg([seg({ note: 'GET /<x> HTTP/1.1' }), seg({ t: 1, fromA: false, note: 'y'.repeat(100) })], { a: 'a', b: 'b' }, { subtitle: 'TLS 1.3, 3 round trips to the first response byte' });
    expect(svg).toContain('class="note">GET /&#60;x&#62; HTTP/1.1</text>');
    expect(svg).toContain(`class="note">${'y'.repeat(59)}\u2026</text>`);
    expect(svg).toContain('class="subtitle">TLS 1.3, 3 round trips to the first response byte</text>');
  });
});

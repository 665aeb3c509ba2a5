/** The dashboard's cwnd chart annotations: one mark per cwnd event of the selected connection, by cause. */
import { describe, it, expect } from 'vitest';
import { cwndMarkStyle, cwndMarksInRange } from '../../src/http/cwnd-marks.js';
import { dashboardPage } from '../../src/http/dashboard-page.js';
import { CWND_CAUSES } from '../../src/tcp/probe.js';

describe('dashboard: cwnd chart annotations', () => {
  it('colours by kind of cause: loss red, ECE orange, undo green, the rest grey; every cause has a label', () => {
    for (const c of ['rack', 'dupack', 'tlp', 'rto']) expect(cwndMarkStyle(c).color).toBe('#bf616a');
    expect(cwndMarkStyle('ece').color).toBe('#d08770');
    expect(cwndMarkStyle('undo-dsack')).toEqual({ color: '#a3be8c', label: 'undo (D-SACK)' });
    expect(cwndMarkStyle('undo-eifel').color).toBe('#a3be8c');
    expect(cwndMarkStyle('recovery-end').color).toBe('#4c566a');
    for (const c of CWND_CAUSES) expect(cwndMarkStyle(c).label).not.toBe('');
  });

  it('keeps the marks inside the chart’s time range, the newest when there are too many', () => {
    const marks = [10, 20, 30, 40, 50].map((t) => ({ t, cause: 'rack' }));
    expect(cwndMarksInRange(marks, 15, 45, 10).map((m) => m.t)).toEqual([20, 30, 40]);
    expect(cwndMarksInRange(marks, 0, 100, 2).map((m) => m.t)).toEqual([40, 50]);
    expect(cwndMarksInRange([], 0, 1, 5)).toEqual([]);
  });

  it('the page embeds them, handles cwnd events and passes the marks to the cwnd chart', () => {
    const html = dashboardPage({ address: '10.0.0.2', sampleMs: 100 });
    const script = html.slice(html.indexOf('<script>') + 8, html.lastIndexOf('</script>'));
    expect(() => new Function(script)).not.toThrow();
    expect(script).toContain('case "cwnd"');
    expect(script).toContain('fmtBytes, undefined, S.marks');
    // The embedded copies behave as the module's.
    const start = script.indexOf('function cwndMarkStyle');
    const end = script.indexOf('var NS =');
    const fns = new Function(`${script.slice(start, end)}; return { cwndMarkStyle, cwndMarksInRange };`)() as {
      cwndMarkStyle: typeof cwndMarkStyle;
      cwndMarksInRange: typeof cwndMarksInRange;
    };
    expect(fns.cwndMarkStyle('rto')).toEqual(cwndMarkStyle('rto'));
    expect(fns.cwndMarksInRange([{ t: 5, cause: 'ece' }], 0, 10, 3)).toEqual([{ t: 5, cause: 'ece' }]);
  });
});

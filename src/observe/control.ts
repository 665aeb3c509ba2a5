/**
 * The event feed over the control socket (`{"cmd":"subscribe"}`): one JSON
 * event per line, with the same bounds as every subscriber — a client that
 * stops reading fills its ring and is cut off.
 */
import type { Stack } from '../stack.js';
import type { ControlStream } from '../control/server.js';
import type { ControlResponse } from '../control/protocol.js';
import type { ObsEvent } from './events.js';
import type { Subscriber } from './feed.js';

export function subscribeControl(stack: Stack, req: { conn?: number; port?: number }, stream: ControlStream): ControlResponse {
  const feed = stack.feed;
  let sub: Subscriber | null = null;
  const r = feed.subscribe(
    {
      deliver(batch: ObsEvent[]): boolean {
        let ok = true;
        for (const ev of batch) ok = stream.write(ev) && ok;
        return ok;
      },
      closed(): void {
        stream.end();
      },
    },
    { ...(req.conn !== undefined ? { conn: req.conn } : {}), ...(req.port !== undefined ? { port: req.port } : {}), label: 'control' },
  );
  if (r instanceof Error) return { ok: false, error: r.message };
  sub = r;
  stream.onDrain(() => {
    if (sub !== null) feed.resume(sub);
  });
  stream.onClose(() => {
    if (sub !== null) feed.unsubscribe(sub);
  });
  return { ok: true, subscribed: true, sampleMs: feed.sampleMs };
}

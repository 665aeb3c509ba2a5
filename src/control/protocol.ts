/**
 * The control channel's protocol: JSON lines over a Unix stream socket.
 * A client writes one request object per line and reads one response line
 * per request, in order:
 *
 *   → {"cmd":"info"}
 *   ← {"ok":true,"pid":123,"name":"tun0","tun":"tun0","addr":"10.77.0.2/24",...}
 *   → {"cmd":"stats"}
 *   ← {"ok":true,"stats":{"Ip":{...},"Icmp":{...},...,"drops":{...}},"link":{...}}
 *   → {"cmd":"sockets"}
 *   ← {"ok":true,"tcp":[...] | null,"udp":[...] | null}
 *   → {"cmd":"capture","action":"start","file":"/tmp/x.pcap"}   (or "stop", "status";
 *     start also takes "snaplen": N, "filter": "tcp port 80" (src/wire/packet-filter.ts),
 *     "format": "pcap" | "pcapng", "precision": "micro" | "nano" (pcapng),
 *     "rotateBytes": N and "rotateCount": N (src/control/rotating-sink.ts))
 *   ← {"ok":true,"capturing":true,"file":"/tmp/x.pcap",...}
 *   → {"cmd":"observe"}
 *   ← {"ok":true,"conns":[...],"listeners":[...],"stats":{...}}   (the observatory's snapshot: ids, SYN queues)
 *   → {"cmd":"subscribe"}  or  {"cmd":"subscribe","conn":3}  or  {"cmd":"subscribe","port":80}
 *   ← {"ok":true,"subscribed":true}, then one event object per line (src/observe/events.ts), until
 *     the client closes or the feed ends it (a last {"type":"bye","reason":...}); no more requests on it
 *   → {"cmd":"sysctl"}  or  {"cmd":"sysctl","name":"net.ipv4.tcp_sack"}  or  {"cmd":"sysctl","name":"...","value":"0"}
 *   ← {"ok":true,"entries":[{"name":"net.ipv4.tcp_sack","value":"1","unit":"","writable":true,"text":"..."}, ...]}
 *   → {"cmd":"connect","host":"10.77.0.1","port":5000}   (optional "localPort": N)
 *   ← {"ok":true,"local":"10.77.0.2:40000","remote":"10.77.0.1:5000"} once the stack's connection is
 *     established, then the socket carries the connection's bytes both ways, raw (no more JSON): the
 *     client's EOF is the connection's FIN, the peer's FIN the socket's EOF (src/control/connect-pipe.ts)
 *   ← {"ok":false,"error":"..."}            on any failure
 */

import type { CaptureSettings } from './capture.js';

export type ControlRequest =
  | { cmd: 'info' }
  | { cmd: 'stats' }
  | { cmd: 'sockets' }
  | ({ cmd: 'capture'; action: 'start'; file: string } & CaptureSettings)
  | { cmd: 'capture'; action: 'stop' | 'status' }
  | { cmd: 'observe' }
  | { cmd: 'subscribe'; conn?: number; port?: number }
  | SysctlRequest
  | ConnectRequest;

/** `tunstack sysctl`: every tunable (no name), one (name), or a write (name and value) — src/control/sysctl.ts. */
export interface SysctlRequest {
  cmd: 'sysctl';
  name?: string;
  value?: string;
}

/** Opens a TCP connection from the stack and turns the control connection into its byte pipe. */
export interface ConnectRequest {
  cmd: 'connect';
  host: string;
  port: number;
  localPort?: number;
}

export type ControlResponse = ({ ok: true } & Record<string, unknown>) | { ok: false; error: string };

/** Longest request line accepted (a request is a few dozen bytes; this bounds a misbehaving client). */
export const MAX_LINE = 64 * 1024;

/** Parses and checks a request line; an Error names what is wrong. */
export function parseRequest(line: string): ControlRequest | Error {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return new Error('request is not JSON');
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return new Error('request must be a JSON object');
  const o = obj as Record<string, unknown>;
  switch (o['cmd']) {
    case 'info':
    case 'stats':
    case 'sockets':
    case 'observe':
      return { cmd: o['cmd'] };
    case 'subscribe': {
      const r: { cmd: 'subscribe'; conn?: number; port?: number } = { cmd: 'subscribe' };
      for (const k of ['conn', 'port'] as const) {
        const v = o[k];
        if (v === undefined || v === null) continue;
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return new Error(`subscribe "${k}" must be a non-negative integer`);
        r[k] = v;
      }
      if (r.conn !== undefined && r.port !== undefined) return new Error('subscribe takes "conn" or "port", not both');
      return r;
    }
    case 'sysctl': {
      const r: SysctlRequest = { cmd: 'sysctl' };
      for (const k of ['name', 'value'] as const) {
        const v = o[k];
        if (v === undefined || v === null) continue;
        if (typeof v !== 'string' || v.length === 0) return new Error(`sysctl "${k}" must be a non-empty string`);
        r[k] = v;
      }
      if (r.value !== undefined && r.name === undefined) return new Error('sysctl "value" needs "name"');
      return r;
    }
    case 'connect': {
      const host = o['host'];
      if (typeof host !== 'string' || host.length === 0) return new Error('connect needs "host"');
      const r: ConnectRequest = { cmd: 'connect', host, port: 0 };
      for (const k of ['port', 'localPort'] as const) {
        const v = o[k];
        if (v === undefined || v === null) continue;
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) return new Error(`connect "${k}" must be a port, 1..65535`);
        r[k] = v;
      }
      if (r.port === 0) return new Error('connect needs "port"');
      return r;
    }
    case 'capture': {
      const action = o['action'];
      if (action === 'start') {
        const file = o['file'];
        if (typeof file !== 'string' || file.length === 0) return new Error('capture start needs "file"');
        const start: { cmd: 'capture'; action: 'start'; file: string } & CaptureSettings = { cmd: 'capture', action, file };
        const snaplen = o['snaplen'];
        if (snaplen !== undefined && snaplen !== null) {
          if (typeof snaplen !== 'number' || !Number.isInteger(snaplen) || snaplen <= 0) return new Error('capture "snaplen" must be a positive integer');
          start.snaplen = snaplen;
        }
        for (const k of ['rotateBytes', 'rotateCount'] as const) {
          const v = o[k];
          if (v === undefined || v === null) continue;
          if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) return new Error(`capture "${k}" must be a positive integer`);
          start[k] = v;
        }
        const filter = o['filter'];
        if (filter !== undefined && filter !== null) {
          if (typeof filter !== 'string') return new Error('capture "filter" must be a string');
          start.filter = filter;
        }
        const format = o['format'];
        if (format !== undefined && format !== null) {
          if (format !== 'pcap' && format !== 'pcapng') return new Error('capture "format" must be "pcap" or "pcapng"');
          start.format = format;
        }
        const precision = o['precision'];
        if (precision !== undefined && precision !== null) {
          if (precision !== 'micro' && precision !== 'nano') return new Error('capture "precision" must be "micro" or "nano"');
          start.precision = precision;
        }
        return start;
      }
      if (action === 'stop' || action === 'status') return { cmd: 'capture', action };
      return new Error('capture "action" must be start, stop or status');
    }
    default:
      return new Error(`unknown command ${JSON.stringify(o['cmd'])} (known: info, stats, sockets, capture, observe, subscribe, sysctl, connect)`);
  }
}

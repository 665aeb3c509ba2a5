/**
 * What a tunable is (the sysctl tree's entries, lwIP's opt.h lines): a dotted name, a default, a unit, one
 * line of meaning, and how it reads from and writes into the options object of the layer that owns it. Each
 * layer declares its own (src/ip/tunables.ts, src/udp/tunables.ts, src/tcp/tunables.ts, src/http/tunables.ts);
 * src/control/sysctl.ts collects them into the one registry `tunstack sysctl` and docs/sysctl.md show.
 *
 * Names: Linux's own (`net.ipv4.tcp_sack`) where ours means the same thing in the same unit, else
 * `tunstack.LAYER.NAME` with the nearest Linux counterpart in `linux`. This module imports nothing, so any
 * layer may use it.
 */

export type TunableValue = number | boolean | string;

/** How a value is written and checked: the text `sysctl NAME=VALUE` takes. */
export type TunableKind =
  | { readonly type: 'int'; readonly min: number; readonly max: number }
  | { readonly type: 'bool' }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  /** Two integers "LOW HIGH", LOW ≤ HIGH (Linux's ip_local_port_range syntax). */
  | { readonly type: 'range'; readonly min: number; readonly max: number };

/** When a tunable can change: on a running stack, only when it starts, or never (a constant of the build). */
export type TunableWhen = 'run' | 'start' | 'build';

export interface Tunable<O> {
  readonly name: string;
  /** bytes, ms, s, count, segments, ... ('' for a flag or a name). */
  readonly unit: string;
  readonly kind: TunableKind;
  readonly default: TunableValue;
  /** One line: what it does. */
  readonly text: string;
  /** The Linux counterpart when the name is not Linux's own (e.g. `tcp_rmem[1]`). */
  readonly linux?: string;
  /** Where the default departs from Linux on purpose: one line why. */
  readonly differs?: string;
  readonly when: TunableWhen;
  /** The start-time way to set it when it is not `--sysctl NAME=VALUE` (e.g. `--http-limit maxBodyBytes=N`). */
  readonly flag?: string;
  /** The current value, from the owning layer's options. */
  get(o: Readonly<O>): TunableValue;
  /** Stores a checked value into the layer's options (absent for build constants). */
  put?(o: Partial<O>, v: TunableValue): void;
}

/** Parses `text` as a value of `kind`; an Error says what was expected. */
export function parseTunableValue(kind: TunableKind, text: string): TunableValue | Error {
  const t = text.trim();
  switch (kind.type) {
    case 'int': {
      if (!/^-?\d+$/.test(t)) return new Error(`expected an integer in ${kind.min}..${kind.max}, got '${text}'`);
      const n = Number(t);
      if (n < kind.min || n > kind.max) return new Error(`${n} is out of range ${kind.min}..${kind.max}`);
      return n;
    }
    case 'bool':
      if (t === '1' || t === 'true' || t === 'on') return true;
      if (t === '0' || t === 'false' || t === 'off') return false;
      return new Error(`expected 0 or 1, got '${text}'`);
    case 'enum':
      if (kind.values.includes(t)) return t;
      return new Error(`expected one of ${kind.values.join(', ')}, got '${text}'`);
    case 'range': {
      const m = /^(\d+)\s+(\d+)$/.exec(t);
      if (m === null) return new Error(`expected two integers "LOW HIGH", got '${text}'`);
      const lo = Number(m[1]);
      const hi = Number(m[2]);
      if (lo < kind.min || hi > kind.max || lo > hi) return new Error(`'${t}' must be LOW HIGH with ${kind.min} ≤ LOW ≤ HIGH ≤ ${kind.max}`);
      return `${lo} ${hi}`;
    }
  }
}

/** A value as `sysctl` prints it: booleans as 0/1 (Linux's way), the rest as they are. */
export function formatTunableValue(v: TunableValue): string {
  return typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
}

/** The two ends of a 'range' value "LOW HIGH". */
export function rangeEnds(v: TunableValue): [number, number] {
  const [lo, hi] = String(v).trim().split(/\s+/).map(Number);
  return [lo ?? 0, hi ?? 0];
}

/** A tunable that is one key of an options object, value as stored (the common case). */
export function keyTunable<O, K extends keyof O & string>(
  key: K,
  d: Omit<Tunable<O>, 'get' | 'put' | 'default'> & { default: O[K] & TunableValue },
): Tunable<O> {
  return {
    ...d,
    get: (o) => o[key] as TunableValue,
    put: (o, v) => {
      (o as Record<K, unknown>)[key] = v;
    },
  };
}

/** A tunable that is one key of an options object stored `scale` times the value shown (seconds shown, ms stored). */
export function scaledTunable<O, K extends keyof O & string>(key: K, scale: number, d: Omit<Tunable<O>, 'get' | 'put'>): Tunable<O> {
  return {
    ...d,
    get: (o) => (o[key] as number) / scale,
    put: (o, v) => {
      (o as Record<K, unknown>)[key] = (v as number) * scale;
    },
  };
}

/** A constant of the build, listed so every knob is found in one place (changing it means editing `where`). */
export function buildConstant(d: Omit<Tunable<unknown>, 'get' | 'put' | 'when' | 'kind'> & { default: number }): Tunable<unknown> {
  return { ...d, when: 'build', kind: { type: 'int', min: d.default, max: d.default }, get: () => d.default };
}

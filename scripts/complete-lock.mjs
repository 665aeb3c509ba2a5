#!/usr/bin/env node
// The package registry reachable here does not serve rollup's prebuilt
// binaries for other platforms (android, darwin, win32, musl, ...), so
// `npm install` leaves them out of package-lock.json and `npm ci` then
// refuses the lock as out of sync. This adds lock entries for those optional,
// platform-restricted packages (never installed on linux-x64-glibc, so no
// tarball is ever fetched). Run it after any `npm install` that rewrites the lock.
import { readFileSync, writeFileSync } from 'node:fs';

const lockPath = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const pkgs = lock.packages;
const cpuOf = { 'arm-eabi': 'arm', 'arm-gnueabihf': 'arm', 'arm-musleabihf': 'arm', arm64: 'arm64', x64: 'x64', ia32: 'ia32', loong64: 'loong64', ppc64: 'ppc64', riscv64: 'riscv64', s390x: 's390x' };
let added = 0;
for (const [path, entry] of Object.entries(pkgs)) {
  if (!entry.optionalDependencies) continue;
  for (const [name, version] of Object.entries(entry.optionalDependencies)) {
    const key = `node_modules/${name}`;
    if (pkgs[key] || pkgs[`${path}/${key}`]) continue;
    const m = /^@rollup\/rollup-(android|darwin|freebsd|linux|openbsd|openharmony|win32)-(.+?)(?:-(gnu|musl|msvc))?$/.exec(name);
    if (!m) continue;
    const [, os, rest, abi] = m;
    const cpu = cpuOf[rest] ?? cpuOf[rest.replace(/-(gnueabihf|musleabihf)$/, '')] ?? rest.split('-')[0];
    const e = { version, cpu: [cpu], dev: entry.dev === true, license: 'MIT', optional: true, os: [os] };
    if (os === 'linux') e.libc = [abi === 'musl' || /musl/.test(rest) ? 'musl' : 'glibc'];
    if (!e.dev) delete e.dev;
    pkgs[key] = e;
    added++;
  }
}
const sorted = Object.fromEntries(Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
lock.packages = sorted;
writeFileSync(lockPath, JSON.stringify(lock, null, 2) + '\n');
console.log(`complete-lock: added ${added} platform entries`);

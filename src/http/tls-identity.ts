/**
 * The HTTPS server's certificate and key: from files (`--tls-cert`/`--tls-key`, PEM), or a self-signed one made
 * at start by the `selfsigned` package (it signs with Node's own WebCrypto: an EC P-256 key, SHA-256, no
 * OpenSSL binary and no hand-written ASN.1 here), naming the stack's addresses and DNS names.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';

export interface TlsIdentity {
  key: string;
  cert: string;
  /** True when made at start (clients need -k / --insecure). */
  selfSigned: boolean;
  /** SHA-256 fingerprint of the certificate, for the log. */
  fingerprint: string;
}

/** Reads a PEM certificate and key; an Error naming the file and what is wrong. */
export function loadTlsIdentity(certFile: string, keyFile: string): TlsIdentity | Error {
  let cert: string;
  let key: string;
  try {
    cert = readFileSync(certFile, 'utf8');
  } catch (e) {
    return new Error(`--tls-cert ${certFile}: ${(e as Error).message}`);
  }
  try {
    key = readFileSync(keyFile, 'utf8');
  } catch (e) {
    return new Error(`--tls-key ${keyFile}: ${(e as Error).message}`);
  }
  let x: X509Certificate;
  try {
    x = new X509Certificate(cert);
  } catch (e) {
    return new Error(`--tls-cert ${certFile}: not a PEM certificate (${(e as Error).message})`);
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) return new Error(`--tls-key ${keyFile}: not a PEM private key`);
  return { key, cert, selfSigned: false, fingerprint: x.fingerprint256 };
}

/** A self-signed certificate for `names` (DNS) and `addresses` (IPv4), valid from an hour ago for a year. */
export async function selfSignedIdentity(names: readonly string[], addresses: readonly string[]): Promise<TlsIdentity> {
  const notBefore = new Date(Date.now() - 3_600_000);
  const notAfter = new Date(notBefore.getTime() + 365 * 86_400_000);
  const altNames = [...names.map((value) => ({ type: 2 as const, value })), ...addresses.map((ip) => ({ type: 7 as const, ip }))];
  const pems = await generate([{ name: 'commonName', value: names[0] ?? addresses[0] ?? 'tunstack' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { key: pems.private, cert: pems.cert, selfSigned: true, fingerprint: new X509Certificate(pems.cert).fingerprint256 };
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyAlgorithm } from '../../pki/keys.js';
import type { presentTtl } from '../../server/api/present.js';
import { clientFlags } from '../client-flags.js';
import { adminClient } from '../client/connect.js';
import { group, leaf } from '../command.js';
import { ensureDirectory, writeFileWithMode } from '../files.js';
import { CommandFailure } from '../errors.js';
import { outputFormat, printJson, printText } from '../output.js';
import { reportCappedTtl } from './ttl-note.js';

interface MintedX509Json {
  spiffe_id: string;
  serial: string;
  svid_pem: string;
  private_key_pem: string;
  bundle_pem: string;
  not_before: string;
  expires_at: string;
  ttl: ReturnType<typeof presentTtl>;
}

type SignedX509Json = Omit<MintedX509Json, 'private_key_pem'>;

/** `--write DIR` of x509 mint and sign: svid.pem, key.pem (0600, mint only) and bundle.pem, then what was written. */
function writeIssuedFiles(dir: string, issued: SignedX509Json & { private_key_pem?: string }, json: boolean): void {
  const files = { svid_file: join(dir, 'svid.pem'), ...(issued.private_key_pem !== undefined && { key_file: join(dir, 'key.pem') }), bundle_file: join(dir, 'bundle.pem') };
  ensureDirectory(dir);
  writeFileWithMode(files.svid_file, issued.svid_pem, 0o644);
  if (files.key_file !== undefined) writeFileWithMode(files.key_file, issued.private_key_pem as string, 0o600);
  writeFileWithMode(files.bundle_file, issued.bundle_pem, 0o644);
  if (json) printJson({ spiffe_id: issued.spiffe_id, serial: issued.serial, not_before: issued.not_before, expires_at: issued.expires_at, ttl: issued.ttl, ...files });
  else printText([`X509-SVID written to ${files.svid_file}`, ...(files.key_file ? [`Private key written to ${files.key_file}`] : []), `Root CAs written to ${files.bundle_file}`].join('\n'));
}

/** Spelled out rather than imported: loading pki/ (WebCrypto, @peculiar/x509) would slow every command. */
const keyTypes = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072'] as const satisfies readonly KeyAlgorithm[];
// Fails to compile when pki/ gains a key type that is missing above.
const _everyKeyType: [Exclude<KeyAlgorithm, (typeof keyTypes)[number]>] extends [never] ? true : never = true;

const mint = leaf({
  name: 'mint',
  summary: 'Mint an X.509-SVID for any SPIFFE ID of the trust domain, with no entry (like spire-server x509 mint)',
  flags: {
    'spiffe-id': { type: 'string', valueName: 'ID', spireName: 'spiffeID', required: true, description: 'SPIFFE ID of the SVID' },
    dns: { type: 'string', multiple: true, valueName: 'NAME', description: 'DNS name to add to the SVID' },
    ttl: { type: 'string', valueName: 'DURATION', description: "lifetime of the SVID, e.g. 1h (default: the server's)" },
    'key-type': { type: 'string', choices: keyTypes, description: "type of the SVID's key (default: the server's)" },
    write: { type: 'string', valueName: 'DIR', description: 'write svid.pem, key.pem (mode 0600) and bundle.pem into DIR (created 0700 if missing) instead of printing them' },
    ...clientFlags,
  },
  async run(flags) {
    const body = { spiffe_id: flags.string('spiffe-id'), dns_names: flags.strings('dns'), ttl: flags.seconds('ttl'), key_type: flags.string('key-type') };
    const client = await adminClient(flags);
    const minted = await client.postJson<MintedX509Json>('/v1/x509/mint', body);
    reportCappedTtl(minted.ttl);
    const dir = flags.string('write');
    if (dir === undefined) {
      if (outputFormat(flags) === 'json') printJson(minted);
      else printText(`X509-SVID:\n${minted.svid_pem}Private key:\n${minted.private_key_pem.trimEnd()}\nRoot CAs:\n${minted.bundle_pem}`);
      return 0;
    }
    writeIssuedFiles(dir, minted, outputFormat(flags) === 'json');
    return 0;
  },
});


const sign = leaf({
  name: 'sign',
  summary: 'Sign a CSR as an X.509-SVID for any SPIFFE ID of the trust domain; the key stays with you (like x509 mint)',
  flags: {
    csr: { type: 'string', valueName: 'FILE', required: true, description: 'PEM PKCS#10 request; its signature must verify (only its public key is used)' },
    'spiffe-id': { type: 'string', valueName: 'ID', spireName: 'spiffeID', required: true, description: 'SPIFFE ID of the SVID' },
    dns: { type: 'string', multiple: true, valueName: 'NAME', description: 'DNS name to add to the SVID' },
    ttl: { type: 'string', valueName: 'DURATION', description: "lifetime of the SVID, e.g. 1h (default: the server's)" },
    write: { type: 'string', valueName: 'DIR', description: 'write svid.pem and bundle.pem into DIR (created 0700 if missing) instead of printing them' },
    ...clientFlags,
  },
  async run(flags) {
    const csrPath = flags.string('csr') as string;
    let csr: string;
    try {
      csr = readFileSync(csrPath, 'utf8');
    } catch (err) {
      throw new CommandFailure(`cannot read --csr ${csrPath}: ${(err as Error).message}`);
    }
    const body = { csr, spiffe_id: flags.string('spiffe-id'), dns_names: flags.strings('dns'), ttl: flags.seconds('ttl') };
    const client = await adminClient(flags);
    const signed = await client.postJson<SignedX509Json>('/v1/x509/sign', body);
    reportCappedTtl(signed.ttl);
    const dir = flags.string('write');
    if (dir === undefined) {
      if (outputFormat(flags) === 'json') printJson(signed);
      else printText(`X509-SVID:\n${signed.svid_pem}Root CAs:\n${signed.bundle_pem}`);
      return 0;
    }
    writeIssuedFiles(dir, signed, outputFormat(flags) === 'json');
    return 0;
  },
});

export const x509Commands = group('x509', 'Mint X.509-SVIDs, or sign your CSRs as X.509-SVIDs', [mint, sign]);

import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { preparePrivateDirectory, removeStaleTempFiles, tightenIfPresent, writeFileAtomic } from '../../common/files.js';
import { exportPrivateKeyPem, importPrivateKeyPem, type KeyPair } from '../../pki/keys.js';
import { pemDecodeAll, pemEncodeAll } from '../../pki/pem.js';

/** What the agent keeps across restarts so that a restart does not attest again. */
export interface AgentIdentity {
  agentId: string;
  spiffeId: string;
  keys: KeyPair;
  /** DER, leaf first. */
  svidChainDer: Uint8Array[];
  notAfter: Date;
}

/** The key and the SVID in one file, so that no crash can leave one without the other. */
interface IdentityFile {
  version: 1;
  agent_id: string;
  spiffe_id: string;
  not_after: string;
  key: string;
  svid_chain: string;
}

export interface LoadedIdentity {
  identity?: AgentIdentity | undefined;
  /** Why what is on disk cannot be used, or what was repaired, for the log. */
  notes: string[];
}

const files = { identity: 'agent-identity.json', bundle: 'bundle.json' } as const;
/** Before the one-file format, a crash between these writes could leave a key without its SVID. */
const legacyFiles = { meta: 'agent.json', key: 'agent-key.pem', svid: 'agent-svid.pem' } as const;

function keyMatchesLeaf(keyPem: string, chainPem: string): boolean {
  const leaf = pemDecodeAll(chainPem).find((b) => b.label === 'CERTIFICATE');
  if (!leaf) return false;
  const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  const fromCert = new X509Certificate(leaf.der).publicKey.export({ type: 'spki', format: 'der' });
  return fromKey.equals(fromCert);
}

/**
 * Files in <data_dir> (0700; every file 0600), each written atomically and durably. The bundle is
 * saved before the identity at attestation, so that an identity on disk always has a bundle to
 * authenticate the server with (or the configured trust_bundle_path is used).
 */
export class AgentStateStore {
  /** What was tightened when the folder was opened, for the log. */
  readonly repairs: string[];

  constructor(readonly dir: string) {
    this.repairs = preparePrivateDirectory(dir, 'data_dir');
    for (const name of [files.identity, files.bundle, ...Object.values(legacyFiles)]) this.repairs.push(...tightenIfPresent(join(dir, name)));
  }

  async saveIdentity(identity: AgentIdentity): Promise<void> {
    const content: IdentityFile = {
      version: 1,
      agent_id: identity.agentId,
      spiffe_id: identity.spiffeId,
      not_after: identity.notAfter.toISOString(),
      key: await exportPrivateKeyPem(identity.keys.privateKey),
      svid_chain: pemEncodeAll('CERTIFICATE', identity.svidChainDer),
    };
    writeFileAtomic(join(this.dir, files.identity), `${JSON.stringify(content, null, 2)}\n`, 0o600);
    for (const name of Object.values(legacyFiles)) rmSync(join(this.dir, name), { force: true });
  }

  async loadIdentity(): Promise<LoadedIdentity> {
    const notes: string[] = [];
    for (const name of [files.identity, ...Object.values(legacyFiles)]) {
      for (const stale of removeStaleTempFiles(join(this.dir, name))) notes.push(`removed ${stale}, left by a write that did not finish`);
    }
    const path = join(this.dir, files.identity);
    if (existsSync(path)) {
      try {
        const content = JSON.parse(readFileSync(path, 'utf8')) as IdentityFile;
        if (content.version !== 1 || !keyMatchesLeaf(content.key, content.svid_chain)) throw new Error('its key does not match its SVID');
        return { identity: await this.identityOf(content.agent_id, content.spiffe_id, content.not_after, content.key, content.svid_chain), notes };
      } catch (err) {
        notes.push(`${path} cannot be used (${(err as Error).message})`);
        return { notes };
      }
    }
    return this.loadLegacyIdentity(notes);
  }

  /** Agents before the one-file format: use the three files if they agree, and move them to the new file. */
  private async loadLegacyIdentity(notes: string[]): Promise<LoadedIdentity> {
    const paths = Object.values(legacyFiles).map((f) => join(this.dir, f));
    if (!paths.some((p) => existsSync(p))) return { notes };
    if (!paths.every((p) => existsSync(p))) {
      notes.push(`an incomplete agent identity of the older format is in ${this.dir} (a crash during renewal); it cannot be used`);
      return { notes };
    }
    const [metaPath, keyPath, svidPath] = paths as [string, string, string];
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { agent_id: string; spiffe_id: string; not_after: string };
    const keyPem = readFileSync(keyPath, 'utf8');
    const chainPem = readFileSync(svidPath, 'utf8');
    if (!keyMatchesLeaf(keyPem, chainPem)) {
      notes.push(`the agent key and SVID of the older format in ${this.dir} do not match (a crash between their writes); they cannot be used`);
      return { notes };
    }
    const identity = await this.identityOf(meta.agent_id, meta.spiffe_id, meta.not_after, keyPem, chainPem);
    await this.saveIdentity(identity);
    notes.push(`moved the agent identity to ${files.identity}`);
    return { identity, notes };
  }

  private async identityOf(agentId: string, spiffeId: string, notAfter: string, keyPem: string, chainPem: string): Promise<AgentIdentity> {
    return { agentId, spiffeId, keys: await importPrivateKeyPem(keyPem), svidChainDer: pemDecodeAll(chainPem).map((b) => b.der), notAfter: new Date(notAfter) };
  }

  /** A banned agent deletes what it holds. */
  deleteIdentity(): void {
    for (const f of [files.identity, ...Object.values(legacyFiles)]) rmSync(join(this.dir, f), { force: true });
  }

  saveBundle(json: string): void {
    writeFileAtomic(join(this.dir, files.bundle), json, 0o600);
  }

  loadBundle(): string | undefined {
    const path = join(this.dir, files.bundle);
    removeStaleTempFiles(path);
    return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  }
}

import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/files.js';
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

const files = { meta: 'agent.json', key: 'agent-key.pem', svid: 'agent-svid.pem', bundle: 'bundle.json' } as const;

/** Files in <data_dir>, every one mode 0600 in a 0700 folder, written atomically. */
export class AgentStateStore {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  async saveIdentity(identity: AgentIdentity): Promise<void> {
    writeFileAtomic(join(this.dir, files.key), await exportPrivateKeyPem(identity.keys.privateKey), 0o600);
    writeFileAtomic(join(this.dir, files.svid), pemEncodeAll('CERTIFICATE', identity.svidChainDer), 0o600);
    writeFileAtomic(join(this.dir, files.meta), `${JSON.stringify({ agent_id: identity.agentId, spiffe_id: identity.spiffeId, not_after: identity.notAfter.toISOString() }, null, 2)}\n`, 0o600);
  }

  async loadIdentity(): Promise<AgentIdentity | undefined> {
    const paths = [files.meta, files.key, files.svid].map((f) => join(this.dir, f));
    if (!paths.every((p) => existsSync(p))) return undefined;
    const meta = JSON.parse(readFileSync(paths[0] as string, 'utf8')) as { agent_id: string; spiffe_id: string; not_after: string };
    const keys = await importPrivateKeyPem(readFileSync(paths[1] as string, 'utf8'));
    const svidChainDer = pemDecodeAll(readFileSync(paths[2] as string, 'utf8')).map((b) => b.der);
    return { agentId: meta.agent_id, spiffeId: meta.spiffe_id, keys, svidChainDer, notAfter: new Date(meta.not_after) };
  }

  /** A banned agent deletes what it holds. */
  deleteIdentity(): void {
    for (const f of [files.meta, files.key, files.svid]) rmSync(join(this.dir, f), { force: true });
  }

  saveBundle(json: string): void {
    writeFileAtomic(join(this.dir, files.bundle), json, 0o600);
  }

  loadBundle(): string | undefined {
    const path = join(this.dir, files.bundle);
    return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  }
}

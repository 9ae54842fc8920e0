import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '../../common/files.js';
import { join } from 'node:path';
import { exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem, type KeyAlgorithm, type KeyPair } from '../../pki/keys.js';

/** Where the CA's signing keys live. `disk` for real servers, `memory` for tests. */
export interface KeyManager {
  generate(id: string, algorithm: KeyAlgorithm): Promise<KeyPair>;
  get(id: string): Promise<KeyPair | undefined>;
  delete(id: string): Promise<void>;
}

export class MemoryKeyManager implements KeyManager {
  private readonly keys = new Map<string, KeyPair>();

  async generate(id: string, algorithm: KeyAlgorithm): Promise<KeyPair> {
    const pair = await generateKeyPair(algorithm);
    this.keys.set(id, pair);
    return pair;
  }

  async get(id: string): Promise<KeyPair | undefined> {
    return this.keys.get(id);
  }

  async delete(id: string): Promise<void> {
    this.keys.delete(id);
  }
}

const keyIdPattern = /^[A-Za-z0-9_-]{1,128}$/;

/** PKCS#8 PEM files, mode 0600, in a 0700 folder, written atomically. */
export class DiskKeyManager implements KeyManager {
  private readonly cache = new Map<string, KeyPair>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }

  async generate(id: string, algorithm: KeyAlgorithm): Promise<KeyPair> {
    const pair = await generateKeyPair(algorithm);
    writeFileAtomic(this.pathOf(id), await exportPrivateKeyPem(pair.privateKey), 0o600);
    this.cache.set(id, pair);
    return pair;
  }

  async get(id: string): Promise<KeyPair | undefined> {
    const cached = this.cache.get(id);
    if (cached) return cached;
    const path = this.pathOf(id);
    if (!existsSync(path)) return undefined;
    const pair = await importPrivateKeyPem(readFileSync(path, 'utf8'));
    this.cache.set(id, pair);
    return pair;
  }

  async delete(id: string): Promise<void> {
    this.cache.delete(id);
    rmSync(this.pathOf(id), { force: true });
  }

  private pathOf(id: string): string {
    if (!keyIdPattern.test(id)) throw new Error(`invalid key id ${JSON.stringify(id)}`);
    return join(this.dir, `${id}.key.pem`);
  }
}

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';

interface Sealed {
  iv: Buffer;
  tag: Buffer;
  data: Buffer;
}

/**
 * Credentials kept for re-login (`rememberCredentials`), sealed with AES-256-GCM under a key
 * that exists only in this process, so a heap dump or a leaked store holds no readable password.
 */
export class CredentialVault<Credentials> {
  readonly #key = randomBytes(32);
  readonly #sealed: LRUCache<string, Sealed>;

  constructor(maxEntries: number, ttlMs: number) {
    this.#sealed = new LRUCache({ max: maxEntries, ttl: ttlMs, ttlAutopurge: false });
  }

  put(sessionKey: string, credentials: Credentials): void {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(sessionKey, 'utf8'));
    const data = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
    this.#sealed.set(sessionKey, { iv, tag: cipher.getAuthTag(), data });
  }

  has(sessionKey: string): boolean {
    return this.#sealed.has(sessionKey);
  }

  get(sessionKey: string): Credentials | undefined {
    const sealed = this.#sealed.get(sessionKey);
    if (!sealed) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', this.#key, sealed.iv);
    decipher.setAAD(Buffer.from(sessionKey, 'utf8'));
    decipher.setAuthTag(sealed.tag);
    const plain = Buffer.concat([decipher.update(sealed.data), decipher.final()]).toString('utf8');
    return JSON.parse(plain) as Credentials;
  }

  delete(sessionKey: string): void {
    this.#sealed.delete(sessionKey);
  }

  clear(): void {
    this.#sealed.clear();
  }
}

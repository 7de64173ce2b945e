import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { AuthError, type SessionRecord, type TokenSet } from '@tokenkeeper/auth-core';

/**
 * A 32-byte AES-256 key made of random bytes: raw bytes, or a string of 64 hex digits or of
 * base64/base64url. Make one with `openssl rand -base64 32` or
 * `crypto.randomBytes(32).toString('base64')`. A passphrase is refused, even one that happens
 * to be 43 base64 characters long: it has far less than 256 bits of entropy.
 */
export type EncryptionKey = Uint8Array | string;

const PLAIN = 'p1';
const SEALED = 'e1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** How many sessions' last opened data {@link SessionCodec} keeps before it starts again. */
const MAX_OPENED = 1_024;

interface KeyEntry {
  id: string;
  key: Buffer;
}

/** What the store keeps next to the plaintext `loginId` and `version`. */
interface Payload {
  tokens: TokenSet;
  service: boolean;
  /** The account a switch bound the session to. */
  accountId?: number;
  /** An instance is presenting the session's refresh token, and may store its answer until then. */
  refreshing?: number;
}

/**
 * Turns a session's tokens into the `data` field of its Redis hash and back. With keys, the
 * data is sealed with AES-256-GCM under the first key; any of the keys opens it (rotation).
 * The Redis key, login id and version are the additional authenticated data, so sealed data
 * moved to another session or version is refused rather than read.
 */
export class SessionCodec {
  readonly #keys: KeyEntry[];
  /**
   * The data last opened under each Redis key, with what it opened to: a session read again and
   * again (every request reads it) is decrypted once per version, not once per request. The same
   * sealed text under the same key, login id and version opens to the same payload.
   */
  readonly #opened = new Map<string, { loginId: string; version: number; data: string; payload: Payload }>();

  constructor(keys: EncryptionKey | readonly EncryptionKey[] | undefined) {
    const list = keys === undefined ? [] : Array.isArray(keys) ? keys : [keys as EncryptionKey];
    if (keys !== undefined && list.length === 0) throw new TypeError('RedisStore: encryptionKey must not be an empty list');
    this.#keys = list.map((key, index) => {
      const bytes = randomKeyBytes(`RedisStore: encryptionKey${Array.isArray(keys) ? `[${index}]` : ''}`, key);
      return { id: createHash('sha256').update('tokenkeeper key id').update(bytes).digest('hex').slice(0, 8), key: bytes };
    });
  }

  /** The key that seals writes (the first), if any. */
  get writeKey(): Buffer | undefined {
    return this.#keys[0]?.key;
  }

  get encrypts(): boolean {
    return this.#keys.length > 0;
  }

  encode(redisKey: string, record: SessionRecord): string {
    // JSON would write a non-finite time as null: a session stored but never readable again.
    const { expiresAt, issuedAt, refreshExpiresAt } = record.tokens;
    for (const [name, time] of [
      ['expiresAt', expiresAt],
      ['issuedAt', issuedAt],
      ['refreshExpiresAt', refreshExpiresAt ?? 0],
    ] as const) {
      if (!isTime(time)) throw new TypeError(`RedisStore: tokens.${name} must be a finite number, got ${String(time)}`);
    }
    const payload: Payload = { tokens: record.tokens, service: record.service };
    if (record.accountId !== undefined) payload.accountId = record.accountId;
    if (record.refreshing !== undefined) {
      if (!isTime(record.refreshing))
        throw new TypeError(`RedisStore: refreshing must be a finite number, got ${String(record.refreshing)}`);
      payload.refreshing = record.refreshing;
    }
    const json = JSON.stringify(payload);
    const writer = this.#keys[0];
    if (!writer) return `${PLAIN}:${json}`;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', writer.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(redisKey, record.loginId, record.version));
    const sealed = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
    return [SEALED, writer.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), sealed.toString('base64url')].join(':');
  }

  decode(
    redisKey: string,
    loginId: string,
    version: number,
    data: string,
  ): Pick<SessionRecord, 'tokens' | 'service' | 'accountId' | 'refreshing'> {
    const last = this.#opened.get(redisKey);
    if (last !== undefined && last.data === data && last.loginId === loginId && last.version === version) return last.payload;
    const payload = this.#open(redisKey, loginId, version, data);
    if (this.#opened.size >= MAX_OPENED) this.#opened.clear();
    this.#opened.set(redisKey, { loginId, version, data, payload });
    return payload;
  }

  /** Drops what was opened under `redisKey` (the session was deleted): no token outlives its session here. */
  forget(redisKey: string): void {
    this.#opened.delete(redisKey);
  }

  #open(redisKey: string, loginId: string, version: number, data: string): Payload {
    const [format, ...parts] = data.split(':');
    if (format === PLAIN && this.#keys.length === 0) return parsePayload(data.slice(PLAIN.length + 1));
    if (format === PLAIN) throw unreadable('is stored unencrypted but the store has an encryptionKey');
    if (format !== SEALED || parts.length !== 4) throw unreadable('is not in a format this store knows');
    if (this.#keys.length === 0) throw unreadable('is encrypted but the store has no encryptionKey');
    const [id, iv, tag, sealed] = parts as [string, string, string, string];
    // The key id picks the key; the others are tried too, in case two ids collide.
    const candidates = [...this.#keys.filter((entry) => entry.id === id), ...this.#keys.filter((entry) => entry.id !== id)];
    const aad = additionalData(redisKey, loginId, version);
    for (const { key } of candidates) {
      const json = open(key, aad, iv, tag, sealed);
      if (json !== undefined) return parsePayload(json);
    }
    throw unreadable('cannot be decrypted with any configured encryptionKey');
  }
}

function open(key: Buffer, aad: Buffer, iv: string, tag: string, sealed: string): string | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

function additionalData(redisKey: string, loginId: string, version: number): Buffer {
  return Buffer.from(JSON.stringify([redisKey, loginId, version]), 'utf8');
}

const HOW_TO_MAKE_ONE = 'make one with `openssl rand -base64 32` or crypto.randomBytes(32)';

/**
 * The 32 bytes of a key, refusing anything that is not random bytes (the message names the
 * option, never the key). Each test below refuses a random key with a probability under 1e-9:
 * - the bytes are all printable ASCII (a passphrase, or one hex- or base64-encoded): p ≈ 1.6e-14;
 * - fewer than 16 distinct byte values (zeros, a repeated pattern): p < 1e-20;
 * - the hex string uses 8 digits or fewer (`deadbeef…`): p ≈ 7e-16;
 * - the base64 string uses fewer than 18 distinct characters, as a passphrase of words does
 *   (`password…123`); 43 random base64 characters use about 31: p ≈ 1.2e-9.
 */
export function randomKeyBytes(option: string, key: unknown): Buffer {
  let bytes: Buffer | undefined;
  let distinctCharacters = Number.POSITIVE_INFINITY;
  let minimumCharacters = 0;
  if (key instanceof Uint8Array) bytes = Buffer.from(key);
  else if (typeof key === 'string' && /^[0-9a-fA-F]{64}$/.test(key)) {
    bytes = Buffer.from(key, 'hex');
    distinctCharacters = new Set(key.toLowerCase()).size;
    minimumCharacters = 9;
  } else if (typeof key === 'string' && /^[A-Za-z0-9+/_-]{43}=?$/.test(key)) {
    bytes = Buffer.from(key, 'base64');
    distinctCharacters = new Set(key.replace(/=$/, '')).size;
    minimumCharacters = 18;
  }
  if (bytes?.length !== 32) {
    throw new TypeError(`${option} must be 32 random bytes (a Uint8Array, 64 hex digits or base64); ${HOW_TO_MAKE_ONE}`);
  }
  const printable = bytes.every((byte) => byte >= 0x20 && byte <= 0x7e);
  if (printable || new Set(bytes).size < 16 || distinctCharacters < minimumCharacters) {
    throw new TypeError(`${option} looks like a passphrase or a pattern, not 32 random bytes; ${HOW_TO_MAKE_ONE}`);
  }
  return bytes;
}

/** Checks every field before use: data in Redis is only as trustworthy as everyone who can write there. */
function parsePayload(json: string): Payload {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw unreadable('is not valid JSON');
  }
  const payload = value as { tokens?: Record<string, unknown>; service?: unknown; accountId?: unknown; refreshing?: unknown } | null;
  const tokens = payload?.tokens;
  const ok =
    typeof tokens === 'object' &&
    tokens !== null &&
    typeof tokens.accessToken === 'string' &&
    isTime(tokens.expiresAt) &&
    isTime(tokens.issuedAt) &&
    (tokens.refreshToken === undefined || typeof tokens.refreshToken === 'string') &&
    (tokens.refreshExpiresAt === undefined || isTime(tokens.refreshExpiresAt)) &&
    (tokens.claims === undefined || (typeof tokens.claims === 'object' && tokens.claims !== null && !Array.isArray(tokens.claims))) &&
    (tokens.proofKey === undefined || (typeof tokens.proofKey === 'object' && tokens.proofKey !== null)) &&
    typeof payload?.service === 'boolean' &&
    (payload.accountId === undefined || Number.isSafeInteger(payload.accountId)) &&
    (payload.refreshing === undefined || isTime(payload.refreshing));
  if (!ok) throw unreadable('has missing or mistyped fields');
  const { accessToken, expiresAt, issuedAt, refreshToken, refreshExpiresAt, claims, proofKey } = tokens as unknown as TokenSet;
  return {
    tokens: {
      accessToken,
      expiresAt,
      issuedAt,
      ...(refreshToken !== undefined && { refreshToken }),
      ...(refreshExpiresAt !== undefined && { refreshExpiresAt }),
      ...(claims !== undefined && { claims }),
      ...(proofKey !== undefined && { proofKey }),
    },
    service: payload?.service === true,
    ...(payload?.accountId !== undefined && { accountId: payload.accountId as number }),
    ...(payload?.refreshing !== undefined && { refreshing: payload.refreshing as number }),
  };
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function unreadable(what: string): AuthError {
  return new AuthError('STORE_UNAVAILABLE', `a session in Redis ${what}`);
}

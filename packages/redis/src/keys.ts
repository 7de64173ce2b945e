/**
 * Redis key names. A session's keys carry an HMAC of the session key as their hash tag
 * (`tk:{Xq3…}:session`, `tk:{Xq3…}:lock`): user ids and emails never appear in Redis, and
 * Redis Cluster keeps both keys of one session in one slot.
 */
import { createHash, createHmac } from 'node:crypto';

/** Checks a key prefix once, at construction. */
export function checkPrefix(owner: string, prefix: unknown): string {
  if (typeof prefix !== 'string' || prefix.length === 0 || /[{}\s]/.test(prefix)) {
    throw new TypeError(`${owner}: prefix must be a non-empty string without braces or spaces`);
  }
  return prefix;
}

const LABEL = 'tokenkeeper redis key names v1';
/** Without a secret, names are a plain hash: no id in sight, but a guessable id can be confirmed. */
const UNKEYED = createHash('sha256').update(LABEL).digest();

/** How many session keys' names {@link KeyNames} keeps before it starts again. */
const MAX_NAMED = 10_000;

/** Names the Redis keys of sessions: `prefix:{tag}:session` and `prefix:{tag}:lock`. */
export class KeyNames {
  readonly prefix: string;
  readonly keyed: boolean;
  readonly #key: Buffer;
  /**
   * Names already computed: every request names its session's key, and an HMAC per request is
   * most of a read's CPU. The same string each time also keeps its hash for the maps it keys.
   */
  readonly #names = new Map<string, { session: string; lock: string }>();

  /** `secret`: 32 random bytes; names are HMAC-SHA-256 under a key derived from it. */
  constructor(prefix: string, secret: Buffer | undefined) {
    this.prefix = prefix;
    this.keyed = secret !== undefined;
    // A key of its own, so the names reveal nothing about an encryption key they may derive from.
    this.#key = secret ? createHmac('sha256', secret).update(LABEL).digest() : UNKEYED;
  }

  /** The hash tag of a session key: 128 bits of HMAC, base64url (never a brace). */
  #tagOf(sessionKey: string): string {
    return createHmac('sha256', this.#key).update(sessionKey, 'utf8').digest().subarray(0, 16).toString('base64url');
  }

  session(sessionKey: string): string {
    return this.#namesOf(sessionKey).session;
  }

  lock(sessionKey: string): string {
    return this.#namesOf(sessionKey).lock;
  }

  #namesOf(sessionKey: string): { session: string; lock: string } {
    let names = this.#names.get(sessionKey);
    if (names === undefined) {
      const tag = this.#tagOf(sessionKey);
      names = { session: `${this.prefix}:{${tag}}:session`, lock: `${this.prefix}:{${tag}}:lock` };
      if (this.#names.size >= MAX_NAMED) this.#names.clear();
      this.#names.set(sessionKey, names);
    }
    return names;
  }
}

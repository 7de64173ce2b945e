import { AuthError, type RecordVersion, type SessionRecord, type SessionStore, type StoreReadOptions } from '@tokenkeeper/auth-core';
import { type EncryptionKey, randomKeyBytes, SessionCodec } from './codec.js';
import { handled, type RedisClient, RedisConnection, type RedisConnectionOptions, script } from './connection.js';
import { KeyNames } from './keys.js';
import { NearCache, type NearCacheOptions } from './near-cache.js';
import { SeenVersions } from './seen-versions.js';

export interface RedisStoreOptions extends RedisConnectionOptions {
  /**
   * Seals token sets with AES-256-GCM. 32 random bytes (a Uint8Array, 64 hex digits or base64;
   * make one with `openssl rand -base64 32` or `crypto.randomBytes(32)`), or a list of them to
   * rotate keys: the first seals every write, all of them open reads. A passphrase is refused.
   * Required unless `allowPlaintext: true`.
   */
  encryptionKey?: EncryptionKey | readonly EncryptionKey[];
  /**
   * Stores token sets as plain JSON, readable by anyone who can read Redis (or its backups).
   * Default `false`: without an `encryptionKey` the constructor throws, so plain text is never
   * chosen by forgetting an option.
   */
  allowPlaintext?: boolean;
  /**
   * 32 random bytes that name the Redis keys: a session lives under an HMAC of its session key,
   * so user ids and emails never appear in Redis. Default: the first `encryptionKey` (a key of
   * its own is derived from it). Set it before rotating encryption keys (to the key in use until
   * then), and never change it afterwards: other names mean other keys, and sessions are lost.
   * Without it and without `encryptionKey`, names are an unkeyed hash.
   */
  keyNameSecret?: EncryptionKey;
  /**
   * The longest a session is kept: a longer TTL (a refresh token said to live for centuries) is
   * cut to this. Default 400 days, the longest a browser keeps a cookie. A TTL that is not a
   * finite number is refused: Redis would otherwise keep the session forever.
   */
  maxTtlMs?: number;
  /**
   * How many sessions this store remembers the newest version of (an LRU), to refuse an older
   * session put back in Redis by someone who can write there (a rollback to an old token).
   * Default 10,000 (a few hundred bytes each); 0 turns the check off.
   */
  maxRememberedSessions?: number;
  /**
   * Keeps the records this instance reads in its own memory, so that a request's read of a
   * session it read a moment ago makes no round trip to Redis. Every store write publishes the
   * key it wrote, and a subscriber connection here drops that key at once; a record also ages
   * out after `maxAgeMs` (default 5 s), which bounds how long one can stay stale if a message is
   * missed. Only requests read from it: every read before a renewal, refresh, switch or logout
   * asks Redis, so no refresh token is presented from a stale copy. A replaced or ended session's
   * access token can thus be sent for up to a moment (normally a round trip; at worst
   * `maxAgeMs`) after another instance replaced or ended it. Turn it on only once every instance
   * runs a version whose writes publish (this one). Default `false`; `true` takes the defaults.
   */
  nearCache?: boolean | NearCacheOptions;
}

/** The defaults of the `RedisStore` options that are not connection options. */
export const STORE_DEFAULTS = {
  /** 400 days: the cap browsers put on cookie lifetimes (RFC 6265bis), far past any refresh token. */
  maxTtlMs: 400 * 24 * 3_600_000,
  /** Enough for the sessions active on one instance at once; a forgotten one is only unchecked. */
  maxRememberedSessions: 10_000,
} as const;

/** What a `RedisLock` built from a store shares with it. */
export interface SharedConnection {
  connection: RedisConnection;
  names: KeyNames;
}

const shared = new WeakMap<RedisStore, SharedConnection>();

/** The connection and key names of a store, for `new RedisLock({ store })`. */
export function sharedConnectionOf(store: unknown): SharedConnection | undefined {
  return shared.get(store as RedisStore);
}

// A session is one hash: `loginId` and `version` in plain text for the compare-and-set, `data`
// the (sealed) token set. Each script touches one key, so it runs on any Cluster node.

/**
 * ARGV: '1' to compare ('0' writes whatever is there), expected loginId, expected version,
 * loginId, version, data, TTL ms (always a positive integer: no session is kept forever), the
 * writes channel (every write publishes its key there, for the instances' near caches).
 */
const COMPARE_AND_SET = script(`
if ARGV[1] == '1' then
  local current = redis.call('HMGET', KEYS[1], 'loginId', 'version')
  if current[1] ~= ARGV[2] or current[2] ~= ARGV[3] then return 0 end
end
redis.call('HSET', KEYS[1], 'loginId', ARGV[4], 'version', ARGV[5], 'data', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('PUBLISH', ARGV[8], KEYS[1])
return 1
`);

/** ARGV: '1' to delete only if the session still belongs to loginId ('0' deletes whatever is there), loginId, the writes channel. */
const DELETE = script(`
if ARGV[1] == '1' and redis.call('HGET', KEYS[1], 'loginId') ~= ARGV[2] then return 0 end
local deleted = redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[3], KEYS[1])
return deleted
`);

/**
 * A {@link SessionStore} in Redis, shared by every app instance that points at it. Writes are
 * compare-and-set on the session's login id and version (a Lua script), so a slower instance
 * never overwrites a newer token set or brings back a logged-out session. Every call is bounded
 * by `commandTimeoutMs` and fails with `AuthError('STORE_UNAVAILABLE')`.
 *
 * @example
 * // TOKEN_KEY: `openssl rand -base64 32`
 * const store = new RedisStore({ url: process.env.REDIS_URL, encryptionKey: process.env.TOKEN_KEY });
 * const keeper = new TokenKeeper({ protocol, store, lock: new RedisLock({ store }) });
 * // on shutdown
 * await keeper.close();
 * await store.close();
 */
export class RedisStore implements SessionStore {
  readonly #connection: RedisConnection;
  readonly #codec: SessionCodec;
  readonly #names: KeyNames;
  readonly #maxTtlMs: number;
  readonly #seen: SeenVersions;
  /** The channel every write publishes its key on. */
  readonly #writes: string;
  readonly #near: NearCache | undefined;

  constructor(options: RedisStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('RedisStore: options must be an object');
    const { encryptionKey, allowPlaintext = false, keyNameSecret } = options;
    if (typeof allowPlaintext !== 'boolean') throw new TypeError('RedisStore: allowPlaintext must be a boolean');
    if (encryptionKey === undefined && !allowPlaintext) {
      throw new TypeError(
        'RedisStore: encryptionKey is required (32 random bytes: `openssl rand -base64 32`); to store tokens unencrypted, pass allowPlaintext: true',
      );
    }
    if (encryptionKey !== undefined && allowPlaintext)
      throw new TypeError('RedisStore: give encryptionKey or allowPlaintext: true, not both');
    const maxTtlMs = options.maxTtlMs ?? STORE_DEFAULTS.maxTtlMs;
    if (typeof maxTtlMs !== 'number' || !Number.isSafeInteger(maxTtlMs) || maxTtlMs <= 0) {
      throw new TypeError(`RedisStore: maxTtlMs must be a positive whole number of milliseconds, got ${String(maxTtlMs)}`);
    }
    this.#maxTtlMs = maxTtlMs;
    const remembered = options.maxRememberedSessions ?? STORE_DEFAULTS.maxRememberedSessions;
    if (typeof remembered !== 'number' || !Number.isSafeInteger(remembered) || remembered < 0) {
      throw new TypeError(`RedisStore: maxRememberedSessions must be a whole number ≥ 0, got ${String(remembered)}`);
    }
    this.#seen = new SeenVersions(remembered);
    this.#codec = new SessionCodec(encryptionKey);
    const nameSecret = keyNameSecret === undefined ? this.#codec.writeKey : randomKeyBytes('RedisStore: keyNameSecret', keyNameSecret);
    this.#connection = new RedisConnection('RedisStore', options);
    this.#names = new KeyNames(this.#connection.prefix, nameSecret);
    this.#writes = `${this.#connection.prefix}:session-writes`;
    const { nearCache = false } = options;
    if (typeof nearCache !== 'boolean' && (typeof nearCache !== 'object' || nearCache === null)) {
      throw new TypeError('RedisStore: nearCache must be true, false or { maxAgeMs, maxEntries }');
    }
    const connection = this.#connection;
    this.#near = nearCache === false ? undefined : new NearCache('RedisStore', nearCache, () => connection.openSubscriber(), this.#writes);
    shared.set(this, { connection: this.#connection, names: this.#names });
  }

  /** The ioredis client in use: pass it to `RedisLock` to share one connection. */
  get client(): RedisClient {
    return this.#connection.client;
  }

  /** The Redis key a session lives under: `tk:{<HMAC of the session key>}:session`. */
  keyOf(sessionKey: string): string {
    return this.#names.session(sessionKey);
  }

  /**
   * The session's record. With `{ cached: true }` (the request path's read) and a `nearCache`,
   * a record this instance read a moment ago is answered at once, without a promise.
   */
  get(key: string): Promise<SessionRecord | undefined>;
  get(key: string, options: StoreReadOptions | undefined): SessionRecord | undefined | Promise<SessionRecord | undefined>;
  get(key: string, options?: StoreReadOptions): SessionRecord | undefined | Promise<SessionRecord | undefined> {
    const redisKey = this.keyOf(key);
    const near = this.#near;
    if (near === undefined) return handled(this.#get(key, redisKey));
    if (options?.cached === true) {
      const kept = near.get(redisKey);
      if (kept !== undefined) return kept;
    }
    const read = near.reading(redisKey);
    return handled(
      this.#get(key, redisKey).then(
        (record) => {
          near.keep(redisKey, read, record);
          return record;
        },
        (error: unknown) => {
          near.settle(redisKey, read);
          throw error;
        },
      ),
    );
  }

  set(key: string, record: SessionRecord, expected: RecordVersion | null, ttlMs: number): Promise<boolean> {
    return handled(this.#set(key, record, expected, ttlMs));
  }

  delete(key: string, expected?: Pick<RecordVersion, 'loginId'>): Promise<void> {
    return handled(this.#delete(key, expected));
  }

  async #get(key: string, redisKey: string): Promise<SessionRecord | undefined> {
    const seenBefore = this.#seen.before(key);
    const [loginId, version, data] = await this.#connection.call((client) => client.hmget(redisKey, 'loginId', 'version', 'data'));
    if (loginId == null && version == null && data == null) return undefined;
    const parsedVersion = Number(version);
    if (!loginId || !data || !Number.isSafeInteger(parsedVersion)) {
      throw new AuthError('STORE_UNAVAILABLE', 'a session in Redis has missing or mistyped fields');
    }
    const { tokens, service, accountId, refreshing } = this.#codec.decode(redisKey, loginId, parsedVersion, data);
    // Checked after decoding, so only a genuine (sealed) session is remembered.
    if (this.#seen.isRollback(key, seenBefore, loginId, parsedVersion)) {
      throw new AuthError('STORE_UNAVAILABLE', 'a session in Redis is older than one this instance has seen (rolled back)');
    }
    return {
      tokens,
      service,
      loginId,
      version: parsedVersion,
      ...(accountId !== undefined && { accountId }),
      ...(refreshing !== undefined && { refreshing }),
    };
  }

  async #set(key: string, record: SessionRecord, expected: RecordVersion | null, ttlMs: number): Promise<boolean> {
    // Infinity once meant PERSIST: a session nobody could end by waiting. Refused, like NaN.
    if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs))
      throw new TypeError(`RedisStore: ttlMs must be a finite number, got ${String(ttlMs)}`);
    // Anything due already lives 1 ms, as in MemoryStore; anything absurdly long lives maxTtlMs.
    const ttl = Math.min(this.#maxTtlMs, Math.max(1, Math.ceil(ttlMs)));
    const redisKey = this.keyOf(key);
    const data = this.#codec.encode(redisKey, record);
    // Dropped before the write (a read in flight may answer the old record) and after it (one
    // sent meanwhile may have run before it); the published key drops it on other instances.
    this.#near?.invalidate(redisKey);
    const written = await this.#connection
      .eval(COMPARE_AND_SET, redisKey, [
        expected ? '1' : '0',
        expected?.loginId ?? '',
        expected ? String(expected.version) : '',
        record.loginId,
        String(record.version),
        data,
        String(ttl),
        this.#writes,
      ])
      .finally(() => this.#near?.invalidate(redisKey));
    if (written === 1) this.#seen.note(key, record.loginId, record.version);
    return written === 1;
  }

  async #delete(key: string, expected?: Pick<RecordVersion, 'loginId'>): Promise<void> {
    const redisKey = this.keyOf(key);
    this.#codec.forget(redisKey);
    this.#near?.invalidate(redisKey);
    await this.#connection
      .eval(DELETE, redisKey, [expected ? '1' : '0', expected?.loginId ?? '', this.#writes])
      .finally(() => this.#near?.invalidate(redisKey));
    this.#seen.ended(key, expected?.loginId);
  }

  /** Closes the connection if the store created it (from `url`/`redis`); a `client` passed in stays open. */
  close(): Promise<void> {
    this.#near?.close();
    return this.#connection.close();
  }
}

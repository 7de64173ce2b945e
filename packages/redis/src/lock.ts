import { randomBytes } from 'node:crypto';
import { AuthError, type Lock } from '@tokenkeeper/auth-core';
import { type EncryptionKey, randomKeyBytes } from './codec.js';
import { REDIS_DEFAULTS, type RedisClient, RedisConnection, type RedisConnectionOptions, script } from './connection.js';
import { KeyNames } from './keys.js';
import type { Subscription } from './release-signals.js';
import { type RedisStore, sharedConnectionOf } from './store.js';

export interface RedisLockOptions extends RedisConnectionOptions {
  /**
   * The store whose sessions this lock guards: the lock then uses its connection, prefix and key
   * names, so a session's lock sits next to its data (one Cluster slot) and is named by the same
   * HMAC. The way to build a lock; give no connection options with it.
   */
  store?: RedisStore;
  /**
   * Without `store`: the store's `keyNameSecret` (or its first `encryptionKey`), so that lock
   * keys are named like the store's. Default: none, and lock names are an unkeyed hash of the
   * session key.
   */
  keyNameSecret?: EncryptionKey;
  /**
   * @deprecated No effect: a waiter is woken by the release (pub/sub), not by polling. Still
   * validated, so that a typo does not go unnoticed.
   */
  retryDelayMs?: number;
  /**
   * Longest a waiter waits between attempts when no release reaches it: a missed message (the
   * subscriber reconnecting, a failover). A holder that died is noticed when its lock's TTL runs
   * out, whatever this says. Default 1,000 ms.
   */
  maxRetryDelayMs?: number;
}

/**
 * Deletes the lock only if it is still ours (after a TTL expiry it may be someone else's), and
 * tells the waiters on the lock key's channel.
 */
const RELEASE = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', KEYS[1], 'released')
  return 1
end
return 0
`);

/** ARGV: owner, TTL ms. Takes the lock, or answers how long the holder still has it (ms). */
const TAKE = script(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return -10 end
return redis.call('PTTL', KEYS[1])
`);
const TAKEN = -10;

/**
 * A {@link Lock} in Redis that makes renewals single-flight across app instances: `SET key
 * owner NX PX ttl` with a random owner, released by a compare-and-delete script that publishes
 * on the lock key's channel, which wakes the waiters (no polling while the holder works). A
 * single-primary lock is an efficiency lock (a failover can lose it); the store's version check
 * is what keeps a slower writer from overwriting a newer token set.
 *
 * @example
 * const lock = new RedisLock({ store });
 * const keeper = new TokenKeeper({ protocol, store, lock });
 */
export class RedisLock implements Lock {
  readonly #connection: RedisConnection;
  readonly #names: KeyNames;
  /** Whether `close()` closes the connection: not a store's, nor a client passed in. */
  readonly #owned: boolean;
  readonly #maxRetryDelayMs: number;

  constructor(options: RedisLockOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('RedisLock: options must be an object');
    if (options.retryDelayMs !== undefined) positive('retryDelayMs', options.retryDelayMs);
    this.#maxRetryDelayMs = positive('maxRetryDelayMs', options.maxRetryDelayMs ?? REDIS_DEFAULTS.maxRetryDelayMs);
    const { store, keyNameSecret, ...connectionOptions } = options;
    if (store !== undefined) {
      const fromStore = sharedConnectionOf(store);
      if (!fromStore) throw new TypeError('RedisLock: store must be a RedisStore');
      const extra = (['client', 'url', 'redis', 'prefix', 'commandTimeoutMs', 'keyNameSecret'] as const).filter(
        (name) => options[name] !== undefined,
      );
      if (extra.length > 0) throw new TypeError(`RedisLock: give store, or ${extra.join('/')}, not both`);
      this.#connection = fromStore.connection;
      this.#names = fromStore.names;
      this.#owned = false;
    } else {
      const secret = keyNameSecret === undefined ? undefined : randomKeyBytes('RedisLock: keyNameSecret', keyNameSecret);
      this.#connection = new RedisConnection('RedisLock', connectionOptions);
      this.#names = new KeyNames(this.#connection.prefix, secret);
      this.#owned = true;
    }
  }

  /** The ioredis client in use. */
  get client(): RedisClient {
    return this.#connection.client;
  }

  /** The Redis key of a session's lock: `tk:{<HMAC of the session key>}:lock`. */
  keyOf(sessionKey: string): string {
    return this.#names.lock(sessionKey);
  }

  async acquire(key: string, options: { ttlMs: number; waitMs: number; signal?: AbortSignal }): Promise<() => Promise<void>> {
    const { ttlMs, waitMs, signal } = options;
    if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) throw new TypeError('RedisLock: ttlMs must be a positive number');
    if (!(waitMs >= 0)) throw new TypeError('RedisLock: waitMs must be a non-negative number');
    const lockKey = this.keyOf(key);
    const owner = randomBytes(16).toString('base64url');
    // Lock TTLs run on Redis's real time, so waits are counted in real time too.
    const deadline = performance.now() + waitMs;
    let releases: Subscription | undefined;
    try {
      for (;;) {
        signal?.throwIfAborted();
        const heldForMs = await this.#take(lockKey, owner, Math.ceil(ttlMs), signal);
        if (heldForMs === TAKEN) return this.#releaser(lockKey, owner);
        const remainingMs = deadline - performance.now();
        if (remainingMs <= 0) throw new AuthError('TIMEOUT', `the session lock stayed taken for ${waitMs} ms`);
        if (!releases) {
          // Subscribed before the next attempt, so a release in between is not missed.
          releases = await this.#connection.releaseSignals.subscribe(lockKey);
          continue;
        }
        // Woken by the release; else when the holder's TTL runs out (it died), or after the longest pause.
        const untilExpiryMs = heldForMs > 0 ? heldForMs + 1 : this.#maxRetryDelayMs;
        await releases.next(Math.min(remainingMs, untilExpiryMs, this.#maxRetryDelayMs), signal);
      }
    } finally {
      releases?.end();
    }
  }

  /** Closes the connection if the lock created it (from `url`/`redis`); a `client` or `store` passed in stays open. */
  async close(): Promise<void> {
    if (this.#owned) await this.#connection.close();
  }

  /**
   * One `SET NX PX` attempt: {@link TAKEN}, or the holder's remaining TTL in ms. An abort stops
   * the wait at once; a lock taken after it is given back.
   */
  #take(lockKey: string, owner: string, ttlMs: number, signal: AbortSignal | undefined): Promise<number> {
    const attempt = this.#connection.eval(TAKE, lockKey, [owner, ttlMs]).then(Number);
    if (!signal) return attempt;
    return new Promise<number>((resolve, reject) => {
      const onAbort = () => {
        reject(signal.reason);
        attempt.then((taken) => (taken === TAKEN ? this.#release(lockKey, owner) : undefined), ignore).catch(ignore);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      attempt.then(
        (taken) => {
          signal.removeEventListener('abort', onAbort);
          resolve(taken);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  #releaser(lockKey: string, owner: string): () => Promise<void> {
    let released: Promise<void> | undefined;
    return () => (released ??= this.#release(lockKey, owner));
  }

  async #release(lockKey: string, owner: string): Promise<void> {
    await this.#connection.eval(RELEASE, lockKey, [owner]);
  }
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`RedisLock: ${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

function ignore(): void {}

import { createHash } from 'node:crypto';
import { AuthError } from '@tokenkeeper/auth-core';
import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { checkPrefix } from './keys.js';
import { ReleaseSignals } from './release-signals.js';

/** An ioredis client: a single `Redis` (or Sentinel) connection or a `Cluster`. */
export type RedisClient = Redis | Cluster;

/** How `RedisStore` and `RedisLock` reach Redis. Give `client`, or `url` and/or `redis`, not both. */
export interface RedisConnectionOptions {
  /**
   * An ioredis `Redis` or `Cluster` to use, e.g. one shared by the store and the lock. Its owner
   * closes it: `close()` leaves it open. Calls are still bounded by `commandTimeoutMs`; give it
   * `enableOfflineQueue: false` and `maxRetriesPerRequest: 0` (see {@link createRedisClient}) so
   * that a command given up on is never sent later.
   */
  client?: RedisClient;
  /** A Redis URL (`redis://user:password@host:6379/0`, `rediss://` for TLS) to connect to. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** ioredis options for the connection created here, applied over the bounded defaults of {@link createRedisClient}. */
  redis?: RedisOptions;
  /**
   * Every Redis call (waiting for a connection included) fails with `STORE_UNAVAILABLE` after
   * this long. Default 2,000 ms: far above a healthy round trip, well below a user's patience.
   */
  commandTimeoutMs?: number;
  /** First part of every key, to share one Redis between apps. Default `tk` (`tk:{<HMAC of the session key>}:session`). */
  prefix?: string;
}

/** The defaults of `RedisStore` and `RedisLock` options, each with why. */
export const REDIS_DEFAULTS = {
  /** A healthy Redis answers in about a millisecond; two seconds only passes when it is down or stalled. */
  commandTimeoutMs: 2_000,
  prefix: 'tk',
  /** Reconnect quickly after an outage, at most a second apart, forever. */
  maxReconnectDelayMs: 1_000,
  /** RedisLock: unused since waiters are woken by the release; kept for compatibility. */
  retryDelayMs: 10,
  /** RedisLock: longest wait between attempts when no release message arrives (one was missed). */
  maxRetryDelayMs: 1_000,
} as const;

/**
 * An ioredis client whose every command is bounded: a command times out after
 * `commandTimeoutMs`, is never queued while disconnected and never resent after a reconnect
 * (so nothing given up on is applied later), and reconnects keep being tried in the background.
 */
export function createRedisClient(url?: string, options: RedisOptions & { commandTimeoutMs?: number } = {}): Redis {
  const { commandTimeoutMs = REDIS_DEFAULTS.commandTimeoutMs, ...redisOptions } = options;
  const bounded: RedisOptions = {
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: Math.max(commandTimeoutMs, 1_000),
    retryStrategy: (attempt) => Math.min(attempt * 100, REDIS_DEFAULTS.maxReconnectDelayMs),
    ...redisOptions,
  };
  return url === undefined ? new Redis(bounded) : new Redis(url, bounded);
}

/**
 * An ioredis `Cluster` bounded like {@link createRedisClient}: every command on every node
 * times out after `commandTimeoutMs` and is never queued while the cluster is unreachable.
 * ioredis still follows `MOVED`/`ASK` redirections and retries during a failover, so a
 * session's keys keep working when a replica takes over; calls stay bounded by
 * `commandTimeoutMs` (they fail with `STORE_UNAVAILABLE` if the switch takes longer).
 *
 * @example
 * const redis = createRedisCluster([{ host: 'redis-0', port: 6379 }, { host: 'redis-1', port: 6379 }]);
 * const store = new RedisStore({ client: redis, encryptionKey });
 * const lock = new RedisLock({ store });
 * // on shutdown, after keeper.close(): the store leaves a client it was given open
 * await redis.quit();
 */
export function createRedisCluster(nodes: ClusterNode[], options: ClusterOptions & { commandTimeoutMs?: number } = {}): Cluster {
  const { commandTimeoutMs = REDIS_DEFAULTS.commandTimeoutMs, redisOptions, ...clusterOptions } = options;
  return new Cluster(nodes, {
    enableOfflineQueue: false,
    clusterRetryStrategy: (attempt) => Math.min(attempt * 100, REDIS_DEFAULTS.maxReconnectDelayMs),
    ...clusterOptions,
    redisOptions: {
      commandTimeout: commandTimeoutMs,
      maxRetriesPerRequest: 0,
      connectTimeout: Math.max(commandTimeoutMs, 1_000),
      ...redisOptions,
    },
  });
}

/** One Lua script, sent once and then called by its SHA-1. */
export interface Script {
  source: string;
  sha: string;
}

export function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * The one place that talks to Redis: every call waits for the connection and runs within
 * `commandTimeoutMs`, and every failure becomes `AuthError('STORE_UNAVAILABLE')` with a message
 * of its own (never a command's arguments, which hold tokens).
 */
export class RedisConnection {
  readonly client: RedisClient;
  readonly prefix: string;
  readonly commandTimeoutMs: number;
  readonly #owned: boolean;
  #signals: ReleaseSignals | undefined;
  #ready: Promise<void> | undefined;
  #closed = false;

  constructor(owner: string, options: RedisConnectionOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError(`${owner}: options must be an object`);
    const timeout = options.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs;
    if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) {
      throw new TypeError(`${owner}: commandTimeoutMs must be a positive number, got ${String(timeout)}`);
    }
    this.commandTimeoutMs = timeout;
    this.prefix = checkPrefix(owner, options.prefix ?? REDIS_DEFAULTS.prefix);
    if (options.client !== undefined) {
      if (options.url !== undefined || options.redis !== undefined) throw new TypeError(`${owner}: give client, or url/redis, not both`);
      if (typeof options.client?.evalsha !== 'function') throw new TypeError(`${owner}: client must be an ioredis Redis or Cluster`);
      this.client = options.client;
      this.#owned = false;
    } else {
      if (options.url !== undefined && typeof options.url !== 'string') throw new TypeError(`${owner}: url must be a string`);
      const client = createRedisClient(options.url, { commandTimeoutMs: timeout, ...options.redis });
      // Connection errors surface as STORE_UNAVAILABLE on the calls; an unhandled 'error' event would only spam stderr.
      client.on('error', ignore);
      this.client = client;
      this.#owned = true;
    }
  }

  /** Lock releases, heard on a subscriber connection of their own (opened on first use, closed by `close()`). */
  get releaseSignals(): ReleaseSignals {
    this.#signals ??= new ReleaseSignals(() => this.openSubscriber(), this.commandTimeoutMs);
    if (this.#closed) this.#signals.close();
    return this.#signals;
  }

  /** A new connection to the same Redis for pub/sub; its opener closes it. */
  openSubscriber(): RedisClient {
    const { client } = this;
    // Queued until connected: a subscriber is opened on demand, and its users bound what they wait for.
    return client.isCluster
      ? (client as Cluster).duplicate(undefined, { enableOfflineQueue: true, lazyConnect: false })
      : (client as Redis).duplicate({ enableOfflineQueue: true, lazyConnect: false });
  }

  /** Runs a Lua script on one key (its slot decides the Cluster node). */
  eval(lua: Script, key: string, args: (string | number)[]): Promise<unknown> {
    return this.call(async (client) => {
      try {
        return await client.evalsha(lua.sha, 1, key, ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
        return client.eval(lua.source, 1, key, ...args);
      }
    });
  }

  /** Runs `send` once the connection is ready, all within `commandTimeoutMs`; a call given up on is never sent late. */
  call<T>(send: (client: RedisClient) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new AuthError('STORE_UNAVAILABLE', 'the Redis connection is closed'));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (error: unknown, value?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error === undefined) resolve(value as T);
        else reject(storeError(error));
      };
      const timer = setTimeout(
        () => finish(new AuthError('STORE_UNAVAILABLE', `Redis did not answer within ${this.commandTimeoutMs} ms`)),
        this.commandTimeoutMs,
      );
      timer.unref();
      const run = () => {
        if (settled) return; // timed out while waiting for the connection: never send it late
        let sent: Promise<T>;
        try {
          sent = send(this.client);
        } catch (error) {
          sent = Promise.reject(error);
        }
        sent.then(
          (value) => finish(undefined, value),
          (error: unknown) => finish(error ?? new Error('unknown')),
        );
      };
      const ready = this.#whenReady();
      if (ready) ready.then(run);
      else run();
    });
  }

  /** Undefined when the client can take a command now; else a promise of the next 'ready'. */
  #whenReady(): Promise<void> | undefined {
    const { client } = this;
    if (client.status === 'ready') return undefined;
    if (client.status === 'wait') client.connect().catch(ignore);
    this.#ready ??= new Promise<void>((resolve) => {
      client.once('ready', () => {
        this.#ready = undefined;
        resolve();
      });
    });
    return this.#ready;
  }

  /** Closes the connection if it was created here; a client passed in stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#signals?.close(); // ours even when the client is not
    const { client } = this;
    if (!this.#owned || client.status === 'end') return;
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    if (client.status === 'ready') await Promise.race([client.quit().catch(ignore), delay(this.commandTimeoutMs)]);
    client.disconnect();
    await Promise.race([ended, delay(this.commandTimeoutMs)]);
  }
}

/** A store error, without the command (whose arguments hold tokens) that ioredis attaches. */
function storeError(error: unknown): AuthError {
  if (error instanceof AuthError) return error;
  const raw = error instanceof Error ? error : new Error(String(error));
  const cause = new Error(raw.message);
  cause.name = raw.name;
  // ioredis's own words for a connection that is gone (a Cluster says "isn't ready", "disconnected"
  // or "None of startup nodes" while its node connections close): the network, not Redis refusing.
  const message = /timed out/i.test(raw.message)
    ? 'Redis did not answer in time'
    : /writeable|closed|isn't ready|disconnected|startup nodes|ECONN|EPIPE|ETIMEDOUT|MaxRetries|aborted|ENOTFOUND|EHOSTUNREACH/i.test(
          `${raw.name} ${raw.message}`,
        )
      ? 'Redis is not reachable'
      : 'Redis refused a session store command';
  return new AuthError('STORE_UNAVAILABLE', message, { cause });
}

/**
 * Marks `answer` as handled and returns it: a caller that drops a store answer must not turn a
 * Redis outage into an unhandled rejection, which ends a Node process.
 */
export function handled<T>(answer: Promise<T>): Promise<T> {
  answer.catch(ignore);
  return answer;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function ignore(): void {}

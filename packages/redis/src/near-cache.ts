import type { SessionRecord } from '@tokenkeeper/auth-core';
import type { RedisClient } from './connection.js';

/** `RedisStore`'s `nearCache` option as an object. */
export interface NearCacheOptions {
  /**
   * The longest a record read from Redis answers requests here without asking Redis again. An
   * invalidation normally drops it within a moment of any write; this bounds how long it can
   * stay when one is missed (the subscriber reconnecting, a Cluster moving it to another node).
   * Default 5,000 ms.
   */
  maxAgeMs?: number;
  /** How many sessions' records to keep; the oldest goes first. Default 10,000. */
  maxEntries?: number;
}

export const NEAR_CACHE_DEFAULTS = {
  /** A few seconds: the requests of one page load, and the most a missed invalidation leaves a record stale. */
  maxAgeMs: 5_000,
  maxEntries: 10_000,
} as const;

interface Entry {
  record: SessionRecord;
  until: number;
}

/** A read from Redis in flight: `stale` once its key was written after the read was sent. */
export interface PendingRead {
  stale: boolean;
  /** The subscriber generation the read was sent in: a record read before a gap in the subscription is not kept. */
  readonly generation: number;
}

/**
 * Records read from Redis, kept in this process so that a request's read makes no round trip.
 * Every store write publishes its key on one channel (in the write's own script), and a
 * subscriber connection here drops the key on each message. A record is kept only if the
 * subscription was live when it was read and no message for its key came while the read was
 * in flight; everything is dropped when the subscriber connection closes, and nothing is kept
 * again until it has subscribed anew. Entries also age out after `maxAgeMs`.
 */
export class NearCache {
  readonly #maxAgeMs: number;
  readonly #maxEntries: number;
  readonly #channel: string;
  readonly #entries = new Map<string, Entry>();
  readonly #pending = new Map<string, PendingRead[]>();
  readonly #subscriber: RedisClient;
  /** Bumped whenever the subscription may have missed a message; a read sent before it is not kept. */
  #generation = 0;
  #live = false;
  #closed = false;

  /** `open` makes the subscriber connection; `channel` is the one every store write publishes on. */
  constructor(owner: string, options: true | NearCacheOptions, open: () => RedisClient, channel: string) {
    const settings = options === true ? {} : options;
    this.#maxAgeMs = checkCount(owner, 'nearCache.maxAgeMs', settings.maxAgeMs ?? NEAR_CACHE_DEFAULTS.maxAgeMs);
    this.#maxEntries = checkCount(owner, 'nearCache.maxEntries', settings.maxEntries ?? NEAR_CACHE_DEFAULTS.maxEntries);
    this.#channel = channel;
    const subscriber = open();
    subscriber.on('error', ignore);
    subscriber.on('message', (from: string, redisKey: string) => {
      if (from === this.#channel) this.invalidate(redisKey);
    });
    // A closed connection may have missed writes: forget everything, and keep nothing until subscribed again.
    subscriber.on('close', () => this.#lost());
    subscriber.on('ready', () => this.#subscribe());
    this.#subscriber = subscriber;
    this.#subscribe();
  }

  /** The record read for `redisKey` within `maxAgeMs` and unchanged since, if any. */
  get(redisKey: string): SessionRecord | undefined {
    const entry = this.#entries.get(redisKey);
    if (entry === undefined) return undefined;
    if (performance.now() < entry.until) return entry.record;
    this.#entries.delete(redisKey);
    return undefined;
  }

  /** Notes a read about to be sent to Redis; hand it to {@link keep} or {@link settle} when it answers. */
  reading(redisKey: string): PendingRead {
    const read: PendingRead = { stale: false, generation: this.#generation };
    const reads = this.#pending.get(redisKey);
    if (reads === undefined) this.#pending.set(redisKey, [read]);
    else reads.push(read);
    return read;
  }

  /** Ends a read; keeps its record if nothing may have changed it since the read was sent, and drops the copy of a session Redis no longer has. */
  keep(redisKey: string, read: PendingRead, record: SessionRecord | undefined): void {
    this.settle(redisKey, read);
    // Gone from Redis without a message (its TTL ran out, or an older writer deleted it): no copy either.
    if (record === undefined) {
      this.#entries.delete(redisKey);
      return;
    }
    if (read.stale || !this.#live || read.generation !== this.#generation) return;
    if (this.#entries.size >= this.#maxEntries && !this.#entries.has(redisKey)) {
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
    this.#entries.set(redisKey, { record, until: performance.now() + this.#maxAgeMs });
  }

  /** Ends a read without keeping anything (it failed). */
  settle(redisKey: string, read: PendingRead): void {
    const reads = this.#pending.get(redisKey);
    if (reads === undefined) return;
    const at = reads.indexOf(read);
    if (at >= 0) reads.splice(at, 1);
    if (reads.length === 0) this.#pending.delete(redisKey);
  }

  /** A write here or elsewhere: the key's record and the reads in flight for it are stale. */
  invalidate(redisKey: string): void {
    this.#entries.delete(redisKey);
    for (const read of this.#pending.get(redisKey) ?? []) read.stale = true;
  }

  /** How many records are held (for tests and diagnostics). */
  get size(): number {
    return this.#entries.size;
  }

  close(): void {
    this.#closed = true;
    this.#lost();
    this.#subscriber.disconnect();
  }

  #lost(): void {
    this.#live = false;
    this.#generation++;
    this.#entries.clear();
  }

  /**
   * (Re)subscribes. The cache is live once Redis confirms, and only for reads sent after that: a
   * read sent before may have run before the subscription, and missed a write that came between.
   */
  #subscribe(): void {
    if (this.#closed) return;
    const generation = ++this.#generation;
    this.#subscriber.subscribe(this.#channel).then(
      () => {
        if (this.#closed || generation !== this.#generation) return; // lost again meanwhile, or a later subscribe decides
        this.#generation++;
        this.#live = true;
      },
      ignore, // not live; the next 'ready' tries again
    );
  }
}

function checkCount(owner: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(`${owner}: ${name} must be a positive whole number, got ${String(value)}`);
  }
  return value;
}

function ignore(): void {}

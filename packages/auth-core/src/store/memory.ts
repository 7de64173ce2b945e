import { LRUCache } from 'lru-cache';
import { type Clock, systemClock } from '../clock.js';
import type { RecordVersion, SessionRecord, SessionStore } from './store.js';

export interface MemoryStoreOptions {
  /** How many sessions to hold; the least recently used goes first. Default 10,000. */
  maxSessions?: number;
  /** The clock TTLs are counted on (the keeper passes its own). Default: the system clock. */
  clock?: Clock;
}

/**
 * The default store: an LRU in this process, bounded in entries, each entry living until its
 * tokens are of no more use. Answers synchronously.
 */
export class MemoryStore implements SessionStore {
  readonly #cache: LRUCache<string, SessionRecord>;

  constructor(options: MemoryStoreOptions = {}) {
    const max = options.maxSessions ?? 10_000;
    if (!Number.isSafeInteger(max) || max < 1) throw new TypeError('MemoryStore: maxSessions must be a positive integer');
    // ttlAutopurge off: expired entries are dropped on access and by LRU pressure, with no timers.
    // ttlResolution 0: read the clock on each access rather than cache it behind a 1 ms timer per
    // millisecond of traffic (a manual clock then also moves entries at once).
    const clock = options.clock ?? systemClock;
    this.#cache = new LRUCache<string, SessionRecord>({ max, ttlAutopurge: false, ttlResolution: 0, perf: { now: () => clock.now() } });
  }

  get(key: string): SessionRecord | undefined {
    return this.#cache.get(key);
  }

  set(key: string, record: SessionRecord, expected: RecordVersion | null, ttlMs: number): boolean {
    if (expected) {
      const current = this.#cache.get(key);
      if (!current || current.loginId !== expected.loginId || current.version !== expected.version) return false;
    }
    this.#cache.set(key, record, { ttl: Math.max(1, Math.ceil(ttlMs)) });
    return true;
  }

  delete(key: string, expected?: Pick<RecordVersion, 'loginId'>): void {
    if (expected && this.#cache.get(key)?.loginId !== expected.loginId) return;
    this.#cache.delete(key);
  }

  /** How many sessions are held (expired ones may still count until touched). */
  get size(): number {
    return this.#cache.size;
  }
}

import { describe, expect, it } from 'vitest';
import {
  MemoryStore,
  type RecordVersion,
  type SessionRecord,
  type SessionStore,
  type StoreReadOptions,
  TokenKeeper,
} from '../src/index.js';
import { protocolCase, setup } from './harness.js';

/**
 * A near cache at its worst: a read that accepts a cached answer gets the first record this
 * instance ever read of the session, forever; every other read sees the shared store.
 */
class StaleCopies implements SessionStore {
  readonly #shared: SessionStore;
  readonly #copies = new Map<string, SessionRecord>();
  served = 0;

  constructor(shared: SessionStore) {
    this.#shared = shared;
  }

  get(key: string, options?: StoreReadOptions): SessionRecord | undefined | Promise<SessionRecord | undefined> {
    const copy = this.#copies.get(key);
    if (options?.cached === true && copy) {
      this.served++;
      return copy;
    }
    const record = this.#shared.get(key) as SessionRecord | undefined;
    if (record && !copy) this.#copies.set(key, record);
    return record;
  }

  set(key: string, record: SessionRecord, expected: RecordVersion | null, ttlMs: number): boolean | Promise<boolean> {
    return this.#shared.set(key, record, expected, ttlMs);
  }

  delete(key: string, expected?: Pick<RecordVersion, 'loginId'>): void | Promise<void> {
    return this.#shared.delete(key, expected);
  }
}

const ada = protocolCase('refreshToken').credentials('ada');

describe('reads that may come from a near cache', () => {
  it('an instance served an old copy on every request never presents a refresh token from it: after a 401 and before a renewal it reads the store', async () => {
    const shared = new MemoryStore();
    const { upstream, keeper: a, clock, protocol } = await setup('refreshToken', { store: shared });
    const stale = new StaleCopies(shared);
    const b = new TokenKeeper({ protocol: protocol.preset(upstream.url), clock, keepAlive: false, store: stale });
    try {
      await a.session('ada').login(ada);
      const first = await b.session('ada').token();
      // A's token dies early; A refreshes, and the refresh token rotates. B's copy still holds the old pair.
      upstream.expireAccessToken(first);
      expect((await a.session('ada').fetch('/reports/call-data')).status).toBe(200);
      expect(upstream.stats.refreshes).toBe(1);
      expect(await b.session('ada').token()).toBe(first); // the copy, as the request path may be given
      expect((await b.session('ada').fetch('/reports/call-data')).status).toBe(200);
      expect(upstream.stats.refreshes).toBe(1); // B's 401 read the store, found A's token and retried with it
      // Past every token's life: B's requests still see the old copy, and B's renewal reads the store first.
      clock.advance(3_600_000 + 60_000); // the refreshToken fake's access tokens live an hour
      expect((await b.session('ada').fetch('/reports/call-data')).status).toBe(200);
      expect(upstream.stats.refreshes).toBe(2);
      expect(upstream.stats.reuseDetections).toBe(0);
      expect(stale.served).toBeGreaterThanOrEqual(3);
    } finally {
      await b.close();
    }
  });
});

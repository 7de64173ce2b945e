import { describe, expect, it } from 'vitest';
import { type Lock, MemoryStore, type RecordVersion, type SessionRecord, type SessionStore, TokenKeeper } from '../src/index.js';
import { protocolCase, rejection, setup } from './harness.js';

/** A store that answers asynchronously, counts reads, and fails or hangs on demand (a Redis stand-in). */
class ScriptedStore implements SessionStore {
  readonly inner = new MemoryStore();
  reads = 0;
  deletes = 0;
  failReads = false;
  failWrites = false;
  hangReads = false;

  async get(key: string): Promise<SessionRecord | undefined> {
    this.reads++;
    if (this.hangReads) return new Promise(() => {});
    if (this.failReads) throw new Error('connection lost');
    return this.inner.get(key);
  }

  async set(key: string, record: SessionRecord, expected: RecordVersion | null, ttlMs: number): Promise<boolean> {
    if (this.failWrites) throw new Error('connection lost');
    return this.inner.set(key, record, expected, ttlMs);
  }

  async delete(key: string, expected?: Pick<RecordVersion, 'loginId'>): Promise<void> {
    this.deletes++;
    this.inner.delete(key, expected);
  }
}

const teletracker = protocolCase('refreshToken');
const ada = teletracker.credentials('ada');

describe('with an asynchronous store', () => {
  it('reads once per token() and answers a failed read with STORE_UNAVAILABLE, leaving no rejection unhandled', async () => {
    const store = new ScriptedStore();
    const { keeper } = await setup('refreshToken', { store });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await keeper.session('ada').login(ada);
      store.reads = 0;
      await keeper.session('ada').token();
      expect(store.reads).toBe(1);
      store.failReads = true;
      const error = await rejection(() => keeper.session('ada').token());
      expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503, message: 'the session store failed' });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('stops waiting for a hanging store read when the caller aborts', async () => {
    const store = new ScriptedStore();
    const { keeper } = await setup('refreshToken', { store });
    await keeper.session('ada').login(ada);
    store.hangReads = true;
    const controller = new AbortController();
    const waiting = keeper.session('ada').fetch('/whoami', { signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('logs out even when the store cannot be read', async () => {
    const store = new ScriptedStore();
    const { keeper } = await setup('refreshToken', { store });
    await keeper.session('ada').login(ada);
    store.failReads = true;
    await keeper.session('ada').logout();
    store.failReads = false;
    expect(store.deletes).toBe(1);
    expect(await keeper.session('ada').state()).toEqual({ status: 'none' });
  });

  it('stores the refreshed tokens it could not store before, and never presents the spent refresh token', async () => {
    const store = new ScriptedStore();
    const { keeper, upstream, clock } = await setup('refreshToken', { store });
    const session = keeper.session('ada');
    await session.login(ada);
    upstream.faults.next('api', 'expired');
    store.failWrites = true; // the upstream rotates, the store cannot keep the new set
    expect(await rejection(() => session.fetch('/whoami'))).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    store.failWrites = false;
    expect((await session.fetch('/whoami')).status).toBe(200); // the old access token still serves
    await clock.advance(teletracker.lifetimeMs + 1_000);
    // The renewal writes the set it kept, then refreshes with *its* refresh token, never the spent one.
    expect((await session.fetch('/whoami')).status).toBe(200);
    expect(upstream.stats.refreshes).toBe(2);
    expect(upstream.stats.reuseDetections).toBe(0);
  });
});

describe('with a synchronous store that throws', () => {
  it('answers token() and fetch() with STORE_UNAVAILABLE', async () => {
    const inner = new MemoryStore();
    let broken = false;
    const store: SessionStore = {
      get: (key) => {
        if (broken) throw new Error('disk on fire');
        return inner.get(key);
      },
      set: (key, record, expected, ttlMs) => inner.set(key, record, expected, ttlMs),
      delete: (key, expected) => inner.delete(key, expected),
    };
    const { keeper } = await setup('refreshToken', { store });
    await keeper.session('ada').login(ada);
    broken = true;
    expect(await rejection(() => keeper.session('ada').token())).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: 'the session store failed',
    });
    expect(await rejection(() => keeper.session('ada').fetch('/whoami'))).toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });
});

describe('with a cross-process lock', () => {
  it('holds the lock for less time than others wait for it, so a crashed holder does not time everyone out', async () => {
    const taken: { ttlMs: number; waitMs: number }[] = [];
    const lock: Lock = {
      async acquire(_key, options) {
        taken.push({ ttlMs: options.ttlMs, waitMs: options.waitMs });
        return async () => {};
      },
    };
    const { keeper, clock } = await setup('refreshToken', { lock, timeoutMs: 5_000, renewalTimeoutMs: 30_000 });
    await keeper.session('ada').login(ada);
    await clock.advance(teletracker.lifetimeMs + 1_000);
    await keeper.session('ada').fetch('/whoami');
    expect(taken).toEqual([{ ttlMs: 12_000, waitMs: 30_000 }]);
  });
});

describe('instances sharing a store and a lock, with rotating refresh tokens', () => {
  /** A lock that lets everyone in: what each instance sees once the holder's lock has run out. */
  const expiredLock: Lock = { acquire: async () => async () => {} };

  it('another instance waits for the tokens the one presenting the refresh token stores once the store is back, instead of presenting it', async () => {
    const store = new ScriptedStore();
    const { keeper: first, upstream, clock, protocol } = await setup('refreshToken', { store, lock: expiredLock });
    const second = new TokenKeeper({ protocol: protocol.preset(upstream.url), clock, keepAlive: false, store, lock: expiredLock });
    try {
      await first.session('ada').login(ada);
      const written: SessionRecord[] = [];
      const set = store.set.bind(store);
      store.set = async (key, record, expected, ttlMs) => {
        const ok = await set(key, record, expected, ttlMs);
        if (ok) written.push(record);
        return ok;
      };
      // The first instance's refresh is answered while the store cannot take writes.
      upstream.faults.next('api', 'expired');
      upstream.faults.next('refresh', 'lateAnswer', { delayMs: 500 });
      const during = rejection(() => first.session('ada').fetch('/whoami'));
      await eventuallyTrue(() => written.length === 1); // the record without its refresh token, before it is presented
      store.failWrites = true;
      expect(await during).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(written[0]).toMatchObject({ version: 2, refreshing: expect.any(Number) });
      expect(written[0]!.tokens.refreshToken).toBeUndefined();

      // The second is told its token is dead while the first still cannot store its answer.
      upstream.faults.next('api', 'expired');
      const after = second.session('ada').fetch('/whoami');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(upstream.stats.refreshes).toBe(1); // the second waits, and does not present the spent token
      store.failWrites = false; // the first stores its answer within 100 ms; the second takes it

      expect((await after).status).toBe(200);
      expect(written.at(-1)).toMatchObject({ version: 3 });
      expect(written.at(-1)!.refreshing).toBeUndefined();
      expect(upstream.stats.refreshes).toBe(1);
      expect(upstream.stats.reuseDetections).toBe(0);
      expect((await first.session('ada').fetch('/whoami')).status).toBe(200);
    } finally {
      await second.close();
    }
  });

  it('puts the refresh token back when the upstream turned the refresh away unread (a 429), so the next renewal presents it', async () => {
    const store = new ScriptedStore();
    const { keeper, upstream, clock } = await setup('refreshToken', { store, lock: expiredLock });
    await keeper.session('ada').login(ada);
    await clock.advance(teletracker.lifetimeMs + 1_000);
    upstream.faults.next('refresh', 'status429');
    expect(await rejection(() => keeper.session('ada').fetch('/whoami'))).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    const stored = await store.get('ada');
    expect(stored?.tokens.refreshToken).toBeDefined();
    expect(stored?.refreshing).toBeUndefined();
    await clock.advance(60_000); // past any Retry-After
    expect((await keeper.session('ada').fetch('/whoami')).status).toBe(200);
    expect(upstream.stats.refreshes).toBe(1); // the 429 was no refresh
    expect(upstream.stats.reuseDetections).toBe(0);
  });
});

async function eventuallyTrue(check: () => boolean): Promise<void> {
  for (let tries = 0; !check(); tries++) {
    if (tries > 200) throw new Error('never happened');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

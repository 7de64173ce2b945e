import { randomBytes } from 'node:crypto';
import type { SessionRecord } from '@tokenkeeper/auth-core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore, type RedisStoreOptions } from '../src/index.js';
import {
  commandCalls,
  eventually,
  instancesOnRedis,
  keptCopy,
  onCleanup,
  rawRedis,
  rejection,
  sessionRecord,
  uniquePrefix,
} from './helpers.js';
import { type RedisServer, startRedisServer } from './redis-server.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

// A Redis of this file's own: the specs count the commands it ran, and kill its connections.
let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(() => server.close());

const KEY = randomBytes(32);
const HOUR_MS = 3_600_000;
/** Long enough that only an invalidation (or a gap in the subscription) can drop a copy during a spec. */
const NEVER_AGES = { maxAgeMs: 600_000 };
const ADA = { username: 'ada', password: 'ada-password-1' };

function store(options: Partial<RedisStoreOptions> & { prefix: string }): RedisStore {
  const created = new RedisStore({ url: server.url, encryptionKey: KEY, ...options });
  onCleanup(() => created.close());
  return created;
}

/**
 * Reads `key` until the store keeps it (its subscription is confirmed), and answers the kept
 * record, once no message of an earlier write can still drop it. Such a message may reach the
 * subscriber after the read's answer reached the other connection (on a busy machine it does),
 * so a marker is published after them all: messages arrive in the order they were published,
 * and once the marker has dropped the copy, the one kept next stays.
 */
async function keepOnceLive(sessions: RedisStore, key: string): Promise<SessionRecord> {
  await keptOnce(sessions, key);
  const redisKey = sessions.keyOf(key); // `<prefix>:{…}:session`; the store publishes on `<prefix>:session-writes`
  await rawRedis(server.url).publish(`${redisKey.slice(0, redisKey.indexOf(':{'))}:session-writes`, redisKey);
  await eventually(() => keptCopy(sessions, key) === undefined);
  return keptOnce(sessions, key);
}

async function keptOnce(sessions: RedisStore, key: string): Promise<SessionRecord> {
  let copy: SessionRecord | undefined;
  await eventually(async () => {
    await sessions.get(key);
    copy = keptCopy(sessions, key);
    return copy !== undefined;
  });
  return copy!;
}

const HMGET = () => commandCalls([{ host: '127.0.0.1', port: server.port }], 'hmget');

describe('RedisStore nearCache', () => {
  it("answers a request's read of a session it read a moment ago at once, without asking Redis", async () => {
    const sessions = store({ prefix: uniquePrefix(), nearCache: NEVER_AGES });
    const written = sessionRecord();
    await sessions.set('ada', written, null, HOUR_MS);
    expect(await keepOnceLive(sessions, 'ada')).toEqual(written);
    const before = await HMGET();
    for (let i = 0; i < 100; i++) expect(keptCopy(sessions, 'ada')).toEqual(written);
    expect(await HMGET()).toBe(before);
    // Any read without `cached` still asks Redis: renewals and logouts read so.
    const fresh = sessions.get('ada');
    expect(fresh).toBeInstanceOf(Promise);
    expect(await fresh).toEqual(written);
    expect(await HMGET()).toBe(before + 1);
  });

  it('asks Redis on every read without the option, `cached` or not', async () => {
    const sessions = store({ prefix: uniquePrefix() });
    await sessions.set('ada', sessionRecord(), null, HOUR_MS);
    await sessions.get('ada');
    const answer = sessions.get('ada', { cached: true });
    expect(answer).toBeInstanceOf(Promise);
    await answer;
  });

  it('drops its copy when another instance writes or deletes the session, and answers what Redis holds', async () => {
    const prefix = uniquePrefix();
    const here = store({ prefix, nearCache: NEVER_AGES });
    const elsewhere = store({ prefix }); // without a near cache of its own, its writes still publish
    const first = sessionRecord();
    await elsewhere.set('ada', first, null, HOUR_MS);
    await keepOnceLive(here, 'ada');
    const second = sessionRecord({ version: 2 });
    expect(await elsewhere.set('ada', second, { loginId: first.loginId, version: 1 }, HOUR_MS)).toBe(true);
    await eventually(() => keptCopy(here, 'ada')?.version !== 1);
    expect(await here.get('ada', { cached: true })).toEqual(second);
    await keepOnceLive(here, 'ada');
    await elsewhere.delete('ada', { loginId: second.loginId });
    await eventually(() => keptCopy(here, 'ada') === undefined);
    expect(await here.get('ada', { cached: true })).toBeUndefined();
  });

  it('drops its copy at once when it writes the session itself, before the published message comes back', async () => {
    const sessions = store({ prefix: uniquePrefix(), nearCache: NEVER_AGES });
    const first = sessionRecord();
    await sessions.set('ada', first, null, HOUR_MS);
    await keepOnceLive(sessions, 'ada');
    const second = sessionRecord({ version: 2 });
    await sessions.set('ada', second, { loginId: first.loginId, version: 1 }, HOUR_MS);
    expect(keptCopy(sessions, 'ada')).toBeUndefined();
    expect(await sessions.get('ada', { cached: true })).toEqual(second);
  });

  it('drops its copy once a read finds the session gone from Redis without a message (its TTL ran out)', async () => {
    const sessions = store({ prefix: uniquePrefix(), nearCache: NEVER_AGES });
    await sessions.set('ada', sessionRecord(), null, HOUR_MS);
    await keepOnceLive(sessions, 'ada');
    await rawRedis(server.url).del(sessions.keyOf('ada')); // what an expiry does: no write script, no message
    expect(keptCopy(sessions, 'ada')).toBeDefined(); // the copy cannot know yet
    expect(await sessions.get('ada')).toBeUndefined(); // a renewal's or a logout's read asks Redis
    expect(keptCopy(sessions, 'ada')).toBeUndefined();
  });

  it('reads a session again once its copy is older than maxAgeMs', async () => {
    const sessions = store({ prefix: uniquePrefix(), nearCache: { maxAgeMs: 50 } });
    await sessions.set('ada', sessionRecord(), null, HOUR_MS);
    await keepOnceLive(sessions, 'ada');
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(keptCopy(sessions, 'ada')).toBeUndefined();
  });

  it('empties itself when its subscriber connection closes: a write it could not hear of is not hidden by a copy', async () => {
    const prefix = uniquePrefix();
    const name = `near-${randomBytes(4).toString('hex')}`;
    const here = store({ prefix, nearCache: NEVER_AGES, redis: { connectionName: name } });
    const elsewhere = store({ prefix });
    const first = sessionRecord();
    await elsewhere.set('ada', first, null, HOUR_MS);
    await keepOnceLive(here, 'ada');
    const raw = rawRedis(server.url);
    const subscriberId = subscriberOf(String(await raw.client('LIST')), (client) => client.name === name);
    expect(subscriberId).toBeDefined();
    await raw.client('KILL', 'ID', subscriberId!);
    // Nobody hears this write's message: the subscriber is gone, and comes back only after a reconnect delay.
    const second = sessionRecord({ version: 2 });
    await elsewhere.set('ada', second, { loginId: first.loginId, version: 1 }, HOUR_MS);
    await eventually(() => keptCopy(here, 'ada')?.version !== 1);
    expect(await here.get('ada', { cached: true })).toEqual(second);
    // And it keeps copies again once subscribed anew.
    expect(await keepOnceLive(here, 'ada')).toEqual(second);
  });

  it('does not keep a read that was in flight when its key was written', async () => {
    const prefix = uniquePrefix();
    const proxy = await proxyToServer();
    const here = store({ prefix, nearCache: NEVER_AGES, url: `redis://${proxy.host}:${proxy.port}` });
    const elsewhere = store({ prefix });
    const heard = await heardOn(`${prefix}:session-writes`);
    const first = sessionRecord();
    await elsewhere.set('ada', first, null, HOUR_MS);
    await keepOnceLive(here, 'ada');
    const second = sessionRecord({ version: 2 });
    await elsewhere.set('ada', second, { loginId: first.loginId, version: 1 }, HOUR_MS);
    // A read sent now runs in Redis at once, but its answer waits in the proxy while a third write lands.
    const commands = await connectionIndex(proxy, (client) => client.sub === '0');
    proxy.delay(commands);
    const calls = await HMGET();
    const inFlight = here.get('ada');
    await eventually(async () => (await HMGET()) > calls);
    const third = sessionRecord({ version: 3 });
    await elsewhere.set('ada', third, { loginId: first.loginId, version: 2 }, HOUR_MS);
    await heard.count(3);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the store's own subscriber hears it about as soon
    proxy.deliver(commands);
    expect(await inFlight).toEqual(second); // what Redis held when the read ran
    expect(keptCopy(here, 'ada')).toBeUndefined(); // but it was written meanwhile: not kept
    expect(await here.get('ada', { cached: true })).toEqual(third);
  });

  it('fails a write with STORE_UNAVAILABLE when the Redis user may not publish on the writes channel, with no secret in the error', async () => {
    const raw = rawRedis(server.url);
    const user = `limited-${randomBytes(4).toString('hex')}`;
    await raw.call('ACL', 'SETUSER', user, 'on', '>limited-password', '~*', 'resetchannels', '+@all');
    onCleanup(() => raw.call('ACL', 'DELUSER', user));
    const sessions = store({ prefix: uniquePrefix(), url: `redis://${user}:limited-password@127.0.0.1:${server.port}` });
    const refused = await rejection(() => sessions.set('ada', sessionRecord(), null, HOUR_MS));
    expect(refused).toMatchObject({ code: 'STORE_UNAVAILABLE', message: 'Redis refused a session store command' });
    expect(JSON.stringify(refused.toJSON?.() ?? refused)).not.toContain('limited-password');
  });

  it('refuses a nearCache option of the wrong type or with a bad number, saying which', () => {
    const prefix = uniquePrefix();
    expect(() => new RedisStore({ url: server.url, encryptionKey: KEY, prefix, nearCache: 'on' as never })).toThrow(
      new TypeError('RedisStore: nearCache must be true, false or { maxAgeMs, maxEntries }'),
    );
    expect(() => new RedisStore({ url: server.url, encryptionKey: KEY, prefix, nearCache: { maxAgeMs: 0 } })).toThrow(
      new TypeError('RedisStore: nearCache.maxAgeMs must be a positive whole number, got 0'),
    );
    expect(() => new RedisStore({ url: server.url, encryptionKey: KEY, prefix, nearCache: { maxEntries: 1.5 } })).toThrow(
      new TypeError('RedisStore: nearCache.maxEntries must be a positive whole number, got 1.5'),
    );
  });

  it('keeps at most maxEntries sessions, dropping the oldest', async () => {
    const sessions = store({ prefix: uniquePrefix(), nearCache: { ...NEVER_AGES, maxEntries: 2 } });
    for (const key of ['ada', 'grace', 'linus']) await sessions.set(key, sessionRecord(), null, HOUR_MS);
    await keepOnceLive(sessions, 'ada');
    await keepOnceLive(sessions, 'grace');
    await keepOnceLive(sessions, 'linus');
    expect(keptCopy(sessions, 'grace')).toBeDefined();
    expect(keptCopy(sessions, 'linus')).toBeDefined();
    expect(keptCopy(sessions, 'ada')).toBeUndefined();
  });
});

describe('keepers on RedisStores with a nearCache', () => {
  it("a logout on one instance ends the session for the other instance's next requests, long before maxAgeMs", async () => {
    const { instance } = await instancesOnRedis(server.url, 'refreshToken');
    const [a, b] = [instance({ store: { nearCache: NEVER_AGES } }), instance({ store: { nearCache: NEVER_AGES } })];
    await a.keeper.session('ada').login(ADA);
    await keepOnceLive(b.store, 'ada');
    expect((await b.keeper.session('ada').fetch('/reports/call-data')).status).toBe(200);
    await a.keeper.session('ada').logout();
    await eventually(() =>
      b.keeper
        .session('ada')
        .token()
        .then(
          () => false,
          (error: { code?: string }) => error.code === 'NOT_LOGGED_IN',
        ),
    );
    expect(await rejection(() => b.keeper.session('ada').token())).toMatchObject({
      code: 'NOT_LOGGED_IN',
      message: 'no session: log in first',
    });
  });

  it('an instance whose copy is stale (its invalidation held up) recovers from the 401 with the token in Redis, refreshing nothing', async () => {
    const { upstream, instance } = await instancesOnRedis(server.url, 'refreshToken');
    const proxy = await proxyToServer();
    const a = instance();
    const b = instance({ store: { nearCache: NEVER_AGES, url: `redis://${proxy.host}:${proxy.port}` } });
    await a.keeper.session('ada').login(ADA);
    const copy = await keepOnceLive(b.store, 'ada');
    // B's subscriber stays connected, but what Redis sends it waits in the proxy: a message held up.
    const subscriber = await connectionIndex(proxy, (client) => client.sub === '1');
    proxy.delay(subscriber);
    upstream.expireAccessToken(copy.tokens.accessToken);
    expect((await a.keeper.session('ada').fetch('/reports/call-data')).status).toBe(200); // A refreshes: the pair rotates
    expect(upstream.stats.refreshes).toBe(1);
    expect(keptCopy(b.store, 'ada')?.tokens.accessToken).toBe(copy.tokens.accessToken); // stale, as the spec needs
    const response = await b.keeper.session('ada').fetch('/reports/call-data');
    expect(response.status).toBe(200);
    expect(upstream.stats.refreshes).toBe(1); // B read Redis after the 401 and retried with A's token
    expect(upstream.stats.reuseDetections).toBe(0);
    proxy.deliver(subscriber);
  });
});

interface ListedClient {
  id: string;
  name: string;
  port: number;
  sub: string;
}

/** The id of the subscriber connection (one subscription) that `match` picks in CLIENT LIST. */
function subscriberOf(list: string, match: (client: ListedClient) => boolean): string | undefined {
  return clientsIn(list).find((client) => client.sub === '1' && match(client))?.id;
}

function clientsIn(list: string): ListedClient[] {
  return list
    .trim()
    .split('\n')
    .map((line) => {
      const fields = Object.fromEntries(line.split(' ').map((field) => field.split('=', 2) as [string, string]));
      return { id: fields.id!, name: fields.name ?? '', port: Number(fields.addr?.split(':').pop()), sub: fields.sub ?? '0' };
    });
}

async function proxyToServer(): Promise<TcpProxy> {
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: server.port });
  onCleanup(() => proxy.close());
  return proxy;
}

/** Which of the proxy's connections Redis lists as `match` picks (the store's commands, or its subscriber). */
async function connectionIndex(proxy: TcpProxy, match: (client: ListedClient) => boolean): Promise<number> {
  const raw = rawRedis(server.url);
  const ports = new Set(proxy.targetSidePorts);
  const found = clientsIn(String(await raw.client('LIST'))).filter((client) => ports.has(client.port) && match(client));
  expect(found).toHaveLength(1);
  return proxy.targetSidePorts.indexOf(found[0]!.port);
}

/** A subscriber of the test's own on `channel`, once subscribed: `count(n)` resolves once it has heard `n` messages. */
async function heardOn(channel: string): Promise<{ count(messages: number): Promise<void> }> {
  const listener = new Redis(server.url, { maxRetriesPerRequest: 0 });
  listener.on('error', () => {});
  onCleanup(() => listener.disconnect());
  let heard = 0;
  listener.on('message', () => heard++);
  await listener.subscribe(channel);
  return { count: (messages) => eventually(() => heard >= messages) };
}

import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../src/index.js';
import { instancesOnRedis, onCleanup, rawRedis, rejection, sessionRecord, sharedRedisUrl, uniquePrefix } from './helpers.js';

// A store opens each session's sealed data once per version and names each session key once,
// not once per request: what it remembers must never be read in place of what Redis holds.

let url: string;
beforeAll(async () => {
  url = await sharedRedisUrl();
});

const KEY = randomBytes(32);
const HOUR_MS = 3_600_000;

function store(prefix = uniquePrefix()): RedisStore {
  const created = new RedisStore({ url, prefix, encryptionKey: KEY });
  onCleanup(() => created.close());
  return created;
}

describe('RedisStore reads on the hot path', () => {
  it('refuses sealed data moved from one session to another, also after both were read', async () => {
    const sessions = store();
    await sessions.set('mallory', sessionRecord(), null, HOUR_MS);
    await sessions.set('victim', sessionRecord(), null, HOUR_MS);
    await sessions.get('mallory');
    await sessions.get('victim');
    const raw = rawRedis(url);
    await raw.hset(sessions.keyOf('victim'), 'data', (await raw.hget(sessions.keyOf('mallory'), 'data'))!);
    const refused = await rejection(() => sessions.get('victim'));
    expect(refused).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: 'a session in Redis cannot be decrypted with any configured encryptionKey',
    });
  });

  it('refuses a session whose login id was changed in Redis after it was read, though its sealed data is unchanged', async () => {
    const sessions = store();
    await sessions.set('victim', sessionRecord(), null, HOUR_MS);
    await sessions.get('victim');
    await rawRedis(url).hset(sessions.keyOf('victim'), 'loginId', 'login-b');
    const refused = await rejection(() => sessions.get('victim'));
    expect(refused).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: 'a session in Redis cannot be decrypted with any configured encryptionKey',
    });
  });

  it('reads the tokens another instance wrote since, not the ones it opened before', async () => {
    const prefix = uniquePrefix();
    const here = store(prefix);
    const elsewhere = store(prefix);
    const first = sessionRecord();
    await here.set('user-1', first, null, HOUR_MS);
    expect(await here.get('user-1')).toEqual(first);
    const second = sessionRecord({ version: 2 });
    expect(await elsewhere.set('user-1', second, { loginId: first.loginId, version: 1 }, HOUR_MS)).toBe(true);
    expect(await here.get('user-1')).toEqual(second);
    expect(await here.get('user-1')).toEqual(second);
  });

  it('names two session keys apart, and each the same way every time', async () => {
    const prefix = uniquePrefix();
    const sessions = store(prefix);
    const named = sessions.keyOf('ada');
    expect(sessions.keyOf('ada')).toBe(named);
    expect(sessions.keyOf('grace')).not.toBe(named);
    expect(store(prefix).keyOf('ada')).toBe(named); // a store that never named it before agrees
  });

  it('makes one Redis round trip per request on a fresh token: one HMGET of the session', async () => {
    const { instance } = await instancesOnRedis(url, 'refreshToken');
    const { keeper, store: sessions } = instance();
    const session = keeper.session('ada');
    await session.login({ username: 'ada', password: 'ada-password-1' });
    const watcher = rawRedis(url);
    const monitor = await watcher.monitor();
    onCleanup(() => monitor.disconnect());
    const commands: string[] = [];
    const sessionKey = sessions.keyOf('ada');
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.includes(sessionKey)) commands.push(args[0]!.toLowerCase());
    });
    await new Promise((resolve) => setTimeout(resolve, 50)); // MONITOR starts reporting a moment after its reply
    for (let request = 0; request < 10; request++) expect((await session.fetch('/reports/call-data')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(commands).toEqual(Array.from({ length: 10 }, () => 'hmget'));
  });
});

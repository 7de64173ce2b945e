import { randomBytes } from 'node:crypto';
import { basicAuth, TokenKeeper } from '@tokenkeeper/auth-core';
import { startFakeUpstream } from '@tokenkeeper/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { RedisLock, RedisStore } from '../src/index.js';
import { onCleanup, rejection, sharedRedisUrl, uniquePrefix } from './helpers.js';

let url: string;
beforeAll(async () => {
  url = await sharedRedisUrl();
});

describe('logout wins across instances on one Redis', () => {
  it('a logout on one instance wins over a login still answering on another: a short tombstone in Redis says so', async () => {
    const upstream = await startFakeUpstream({ protocol: 'basicAuth' });
    onCleanup(() => upstream.close());
    const prefix = uniquePrefix();
    const encryptionKey = randomBytes(32);
    const instance = () => {
      const store = new RedisStore({ url, prefix, encryptionKey });
      const keeper = new TokenKeeper({
        protocol: basicAuth({ baseUrl: upstream.url }),
        store,
        lock: new RedisLock({ store }),
        keepAlive: false,
      });
      onCleanup(async () => {
        await keeper.close();
        await store.close();
      });
      return keeper;
    };
    const [a, b] = [instance(), instance()];
    const credentials = { username: 'ada', password: 'ada-password-1' };
    upstream.faults.next('login', 'lateAnswer', { delayMs: 200 });
    const login = rejection(() => a.session('ada').login(credentials));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await b.session('ada').logout();
    expect(await login).toMatchObject({ code: 'NOT_LOGGED_IN', message: 'no session: log in first' });
    expect(await a.session('ada').state()).toEqual({ status: 'none' });
    expect(await b.session('ada').state()).toEqual({ status: 'none' });
    await expect.poll(() => upstream.stats.logouts).toBe(1);
    await a.session('ada').login(credentials); // a login after the logout is not refused
    expect((await b.session('ada').fetch('/api/core/v2/namespaces')).status).toBe(200);
  });
});

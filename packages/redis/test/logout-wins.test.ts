import { beforeAll, describe, expect, it } from 'vitest';
import { instancesOnRedis, rejection, sharedRedisUrl } from './helpers.js';

let url: string;
beforeAll(async () => {
  url = await sharedRedisUrl();
});

describe('logout wins across instances on one Redis', () => {
  it('a logout on one instance wins over a login still answering on another: a short tombstone in Redis says so', async () => {
    const { upstream, instance } = await instancesOnRedis(url, 'basicAuth');
    const [{ keeper: a }, { keeper: b }] = [instance(), instance()];
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

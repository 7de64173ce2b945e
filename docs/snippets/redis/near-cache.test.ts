import { randomBytes } from 'node:crypto';
import { startFakeUpstream } from '@tokenkeeper/testing';
import { afterAll, describe, expect, inject, it } from 'vitest';

const upstream = await startFakeUpstream({ protocol: 'refreshToken' });
Object.assign(process.env, {
  REDIS_URL: inject('redisUrl'), // the private redis-server of packages/redis/test/global-setup.ts
  TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  UPSTREAM_URL: upstream.url,
});
/** The snippet as one more app instance: the file loaded afresh, as another process would. */
const instance = (name: string) =>
  import(/* @vite-ignore */ `./near-cache.js?instance=${name}`) as Promise<typeof import('./near-cache.js')>;
const first = await instance('first');
const second = await instance('second');
afterAll(async () => {
  await first.shutdown();
  await second.shutdown();
  await upstream.close();
});

describe('the near-cache snippet (packages/redis/README.md), on a real Redis', () => {
  it('serves one session from two instances, and a logout on one ends it on the other within a moment', async () => {
    await first.keeper.session('ada').login({ username: 'ada', password: 'ada-password-1' });
    for (let i = 0; i < 3; i++) {
      expect(await (await second.keeper.session('ada').fetch('/reports/call-data')).json()).toMatchObject({ userId: 1 });
    }
    await first.keeper.session('ada').logout();
    await expect
      .poll(
        () =>
          second.keeper
            .session('ada')
            .token()
            .then(String, (error: { code?: string }) => error.code),
        { timeout: 5_000 },
      )
      .toBe('NOT_LOGGED_IN');
  });
});

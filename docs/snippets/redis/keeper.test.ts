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
const instance = (name: string) => import(/* @vite-ignore */ `./keeper.js?instance=${name}`) as Promise<typeof import('./keeper.js')>;
const first = await instance('first');
const second = await instance('second');
afterAll(async () => {
  await first.shutdown();
  await second.shutdown();
  await upstream.close();
});

describe('the many-instances snippet (README.md, packages/redis/README.md), on a real Redis', () => {
  it('runs as two instances that share one session: logged in on one, used on the other, logged out everywhere', async () => {
    expect(first.keeper).not.toBe(second.keeper);
    await first.keeper.session('ada').login({ username: 'ada', password: 'ada-password-1' });

    const answer = await second.keeper.session('ada').fetch('/reports/call-data');
    expect(await answer.json()).toMatchObject({ userId: 1 });
    expect(upstream.stats.logins).toBe(1);

    await second.keeper.session('ada').logout();
    await expect(first.keeper.session('ada').fetch('/reports/call-data')).rejects.toMatchObject({
      code: 'NOT_LOGGED_IN',
      message: 'no session: log in first',
    });
  });

  it('refuses to start without TOKEN_ENCRYPTION_KEY, with a TypeError that names the option', async () => {
    const key = process.env.TOKEN_ENCRYPTION_KEY;
    delete process.env.TOKEN_ENCRYPTION_KEY;
    try {
      const refused = await instance('keyless').catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(TypeError);
      expect(refused).toMatchObject({
        message:
          'RedisStore: encryptionKey is required (32 random bytes: `openssl rand -base64 32`); to store tokens unencrypted, pass allowPlaintext: true',
      });
    } finally {
      process.env.TOKEN_ENCRYPTION_KEY = key;
    }
  });
});

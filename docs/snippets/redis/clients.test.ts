import { randomBytes } from 'node:crypto';
import { startFakeUpstream } from '@tokenkeeper/testing';
import { describe, expect, inject, it, vi } from 'vitest';
import { createKeeper } from './own-client.js';

describe('the Redis README', () => {
  it('"bring your own client": a keeper on a client you made, which you close', async () => {
    const upstream = await startFakeUpstream({ protocol: 'refreshToken' });
    process.env.REDIS_URL = inject('redisUrl');
    const { keeper, close } = createKeeper(upstream.url, randomBytes(32).toString('base64'));
    try {
      await keeper.session('grace').login({ username: 'grace', password: 'grace-password-2' });
      expect(await (await keeper.session('grace').fetch('/reports/call-data')).json()).toMatchObject({ userId: 2 });
    } finally {
      await close();
      await upstream.close();
    }
  });

  it('"encryption": the store starts with TOKEN_KEY, and refuses to without it, naming the option', async () => {
    process.env.REDIS_URL = inject('redisUrl');
    delete process.env.TOKEN_KEY;
    const refused = await import('./encryption.js').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TypeError);
    expect((refused as Error).message).toMatch(/^RedisStore: encryptionKey is required/);

    vi.resetModules();
    process.env.TOKEN_KEY = randomBytes(32).toString('base64');
    const { store } = await import('./encryption.js');
    try {
      expect(await store.get('nobody')).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});

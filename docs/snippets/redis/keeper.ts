import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { RedisLock, RedisStore } from '@tokenkeeper/redis';

const store = new RedisStore({
  url: process.env.REDIS_URL, // redis://user:password@redis:6379/0
  encryptionKey: process.env.TOKEN_ENCRYPTION_KEY, // required: 32 random bytes, `openssl rand -base64 32`
});
export const keeper = new TokenKeeper({
  protocol: refreshToken({ baseUrl: process.env.UPSTREAM_URL ?? 'https://api.teletracker.example' }),
  store,
  lock: new RedisLock({ store }), // the store's connection and key names
});

// On every instance: keeper.session(userId).fetch('/reports/call-data'), one session, one refresh between them.

/** On shutdown: the keeper does not close a store it was given. */
export async function shutdown(): Promise<void> {
  await keeper.close();
  await store.close();
}

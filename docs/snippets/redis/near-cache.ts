import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { RedisLock, RedisStore } from '@tokenkeeper/redis';

const store = new RedisStore({
  url: process.env.REDIS_URL,
  encryptionKey: process.env.TOKEN_ENCRYPTION_KEY,
  // Requests answered from this instance's copy; any write, on any instance, drops it at once.
  nearCache: { maxAgeMs: 5_000 }, // or `true` for the defaults
});
export const keeper = new TokenKeeper({
  protocol: refreshToken({ baseUrl: process.env.UPSTREAM_URL ?? 'https://api.teletracker.example' }),
  store,
  lock: new RedisLock({ store }),
});

export async function shutdown(): Promise<void> {
  await keeper.close();
  await store.close();
}

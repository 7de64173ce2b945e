import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { createRedisClient, RedisLock, RedisStore } from '@tokenkeeper/redis';

export function createKeeper(baseUrl: string, encryptionKey: string) {
  const redis = createRedisClient(process.env.REDIS_URL, { commandTimeoutMs: 1_000 }); // or your own ioredis client
  const store = new RedisStore({ client: redis, encryptionKey });
  const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl }), store, lock: new RedisLock({ store }) });
  return {
    keeper,
    async close() {
      await keeper.close();
      await redis.quit(); // yours to close: the store does not own a client it was given
    },
  };
}

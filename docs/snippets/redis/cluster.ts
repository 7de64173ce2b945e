import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { createRedisCluster, RedisLock, RedisStore } from '@tokenkeeper/redis';

export function createKeeper(
  baseUrl: string,
  encryptionKey: string,
  nodes = [
    { host: 'redis-0', port: 6379 },
    { host: 'redis-1', port: 6379 },
  ],
) {
  const redis = createRedisCluster(nodes);
  const store = new RedisStore({ client: redis, encryptionKey });
  const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl }), store, lock: new RedisLock({ store }) });
  return {
    keeper,
    async close() {
      // on shutdown
      await keeper.close();
      await redis.quit();
    },
  };
}

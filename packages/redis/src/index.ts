export type { EncryptionKey } from './codec.js';
export { createRedisClient, createRedisCluster, REDIS_DEFAULTS, type RedisClient, type RedisConnectionOptions } from './connection.js';
export { RedisLock, type RedisLockOptions } from './lock.js';
export { NEAR_CACHE_DEFAULTS, type NearCacheOptions } from './near-cache.js';
export { RedisStore, type RedisStoreOptions, STORE_DEFAULTS } from './store.js';

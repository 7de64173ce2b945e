export { RedisStore, type RedisStoreOptions } from './store.js';
export { RedisLock, type RedisLockOptions } from './lock.js';
export { createRedisClient, REDIS_DEFAULTS, type RedisClient, type RedisConnectionOptions } from './connection.js';
export type { EncryptionKey } from './codec.js';

import { RedisStore } from '@tokenkeeper/redis';

export const store = new RedisStore({ url: process.env.REDIS_URL, encryptionKey: process.env.TOKEN_KEY }); // `openssl rand -base64 32`

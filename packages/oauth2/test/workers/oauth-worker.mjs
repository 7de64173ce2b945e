// One app instance in its own process: a TokenKeeper with the oauth2 protocol on a RedisStore and
// a RedisLock, driven by the test over IPC (the messages of packages/redis/test/workers.ts).
// Plain JavaScript on the dist builds, since Node 20 cannot import .ts.
import { isAuthError, TokenKeeper } from '@tokenkeeper/auth-core';
import { oauth2 } from '@tokenkeeper/oauth2';
import { RedisLock, RedisStore } from '@tokenkeeper/redis';

const config = JSON.parse(process.argv[2] ?? '{}');
const store = new RedisStore({ url: config.redisUrl, prefix: config.prefix, encryptionKey: config.encryptionKey });
const lock = new RedisLock({ store });
const protocol = oauth2({ issuer: config.issuer }, { baseUrl: config.api, clientId: config.clientId, clientSecret: config.clientSecret });
const keeper = new TokenKeeper({ protocol, store, lock, keepAlive: false });

async function request(key) {
  try {
    const response = await keeper.session(key).fetch(config.resource);
    await response.arrayBuffer();
    return String(response.status);
  } catch (error) {
    return isAuthError(error) ? error.code : `${error?.name}: ${error?.message}`;
  }
}

const handlers = {
  async burst({ key, count }) {
    const counts = {};
    for (const outcome of await Promise.all(Array.from({ length: count }, () => request(key))))
      counts[outcome] = (counts[outcome] ?? 0) + 1;
    return counts;
  },
  async close() {
    await keeper.close();
    await store.close();
    setImmediate(() => process.exit(0));
  },
};

process.on('message', async ({ id, type, ...payload }) => {
  try {
    process.send({ id, result: await handlers[type](payload) });
  } catch (error) {
    process.send({ id, error: isAuthError(error) ? error.code : String(error?.message ?? error) });
  }
});
process.send({ ready: true });

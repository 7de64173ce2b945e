// One app instance in its own process: a TokenKeeper on a RedisStore and a RedisLock, driven
// by the test over IPC. Plain JavaScript on the dist builds, since Node 20 cannot import .ts.
import { isAuthError, refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { createRedisCluster, RedisLock, RedisStore } from '@tokenkeeper/redis';

const config = JSON.parse(process.argv[2] ?? '{}');
// On a Redis Cluster when given its nodes, else on the single Redis at redisUrl.
const cluster = config.clusterNodes && createRedisCluster(config.clusterNodes, { commandTimeoutMs: config.commandTimeoutMs });
cluster?.on('error', () => {});
const store = new RedisStore({
  ...(cluster ? { client: cluster } : { url: config.redisUrl }),
  prefix: config.prefix,
  commandTimeoutMs: config.commandTimeoutMs,
  encryptionKey: config.encryptionKey,
});
const lock = new RedisLock({ store });
// With `credentials`, a provider hands them out for re-login, as a service reading its vault would.
const credentials = config.credentials && (async () => config.credentials);
const keeper = new TokenKeeper({
  protocol: refreshToken({ baseUrl: config.upstreamUrl }),
  store,
  lock,
  ...(credentials && { credentials }),
  ...config.keeper,
});

const events = { refresh: 0, login: 0, expired: 0, errors: [] };
keeper.on('refresh', () => events.refresh++);
keeper.on('login', () => events.login++);
keeper.on('expired', () => events.expired++);
keeper.on('error', ({ operation, error }) => events.errors.push(`${operation}:${error.code}`));

/** One request through the keeper: its HTTP status, or the error code it failed with. */
async function request(key) {
  try {
    const response = await keeper.session(key).fetch(config.resource);
    await response.arrayBuffer();
    return String(response.status);
  } catch (error) {
    return isAuthError(error) ? error.code : `${error?.name}: ${error?.message}`;
  }
}

function tally(outcomes) {
  const counts = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const handlers = {
  async login({ key, credentials }) {
    return keeper.session(key).login(credentials);
  },
  async logout({ key }) {
    await keeper.session(key).logout();
  },
  async state({ key }) {
    return keeper.session(key).state();
  },
  /** `count` requests on one session, all at once. */
  async burst({ key, count }) {
    return tally(await Promise.all(Array.from({ length: count }, () => request(key))));
  },
  /** Steady traffic: `perKey` request loops on every key until `durationMs` has passed. */
  async traffic({ keys, perKey, durationMs, pauseMs }) {
    const until = Date.now() + durationMs;
    const outcomes = [];
    const loop = async (key) => {
      while (Date.now() < until) {
        outcomes.push(await request(key));
        await sleep(pauseMs);
      }
    };
    await Promise.all(keys.flatMap((key) => Array.from({ length: perKey }, () => loop(key))));
    return tally(outcomes);
  },
  async events() {
    return events;
  },
  async close() {
    await keeper.close();
    await store.close();
    await cluster?.quit().catch(() => {});
    setImmediate(() => process.exit(0));
  },
};

process.on('message', async ({ id, type, ...payload }) => {
  try {
    process.send({ id, result: await handlers[type](payload) });
  } catch (error) {
    process.send({ id, error: isAuthError(error) ? error.code : String(error) });
  }
});
// Exit with the test process rather than linger.
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });

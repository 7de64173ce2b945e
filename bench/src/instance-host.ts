/**
 * Child-process entry for scenario 6: one app instance, a TokenKeeper on a shared Redis
 * (`RedisStore`, and `RedisLock` unless argv says `lock: false`). argv[2] is
 * `{ redisUrl, upstreamUrl, prefix, encryptionKey, lock }` as JSON. Its clock can be moved forward, so the
 * session's token can be made to expire for every instance at once without waiting an hour.
 */
import { isAuthError, refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { RedisLock, RedisStore } from '@tokenkeeper/redis';
import { serveParent } from './child.js';
import { shiftableClock } from './clock.js';
import { ADA } from './upstream.js';

export interface Burst {
  settleMs: number;
  /** Outcomes: HTTP status, or the `AuthError` code a request failed with. */
  outcomes: Record<string, number>;
}

const config = JSON.parse(process.argv[2] ?? '{}') as {
  redisUrl: string;
  upstreamUrl: string;
  prefix: string;
  /** Base64 of 32 random bytes, the same for every instance. */
  encryptionKey: string;
  lock: boolean;
};
const time = shiftableClock();
const store = new RedisStore({ url: config.redisUrl, prefix: config.prefix, encryptionKey: config.encryptionKey });
const keeper = new TokenKeeper({
  protocol: refreshToken({ baseUrl: config.upstreamUrl }),
  clock: time.clock,
  store,
  ...(config.lock ? { lock: new RedisLock({ store }) } : {}),
});

async function request(key: string): Promise<string> {
  try {
    const response = await keeper.session(key).fetch('/reports/call-data');
    await response.arrayBuffer();
    return String(response.status);
  } catch (error) {
    return isAuthError(error) ? error.code : String(error);
  }
}

serveParent(
  process.pid,
  {
    login: async (key: string) => {
      await keeper.session(key).login(ADA);
    },
    jump: (ms: number) => time.jump(ms),
    /** `count` requests on one session, all at once. */
    burst: async (key: string, count: number): Promise<Burst> => {
      const start = performance.now();
      const results = await Promise.all(Array.from({ length: count }, () => request(key)));
      const outcomes: Record<string, number> = {};
      for (const result of results) outcomes[result] = (outcomes[result] ?? 0) + 1;
      return { settleMs: performance.now() - start, outcomes };
    },
  },
  async () => {
    await keeper.close();
    await store.close();
  },
);

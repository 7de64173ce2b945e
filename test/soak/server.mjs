// The server side of test/soak.test.ts, run by it with --expose-gc: the Express example's app
// (`createApp` from examples/express) with a keeper built as the example's `start()` builds it,
// against the fake upstream that the test runs. It sits in a process of its own, apart from the
// upstream (which remembers every token it ever issued) and from the load, so its figures are the
// server's alone. It reports them over IPC when asked:
//   → { type: 'sample' }  ← { type: 'sample', figures }   (after forced GCs)
//   → { type: 'close' }   ← { type: 'closed', figures }   then disconnects; nothing should hold it open
import { createHook } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { getHeapSpaceStatistics } from 'node:v8';
import { refreshToken, systemClock, TokenKeeper } from '@tokenkeeper/auth-core';
import { createApp } from '../../examples/express/dist/main.js';

if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');
const upstreamUrl = process.env.SOAK_UPSTREAM_URL;
if (!upstreamUrl) throw new Error('SOAK_UPSTREAM_URL is required');

// Every Timeout alive in the process, ref()-ed or not: getActiveResourcesInfo() lists only the
// ref()-ed ones. Grouped by delay for the report (the fetch pool's idle connections, the server's
// keep-alive sockets and AbortSignal.timeout() each have their own).
const liveTimers = new Map();
createHook({
  init(id, type, _trigger, resource) {
    if (type === 'Timeout') liveTimers.set(id, resource);
  },
  destroy(id) {
    liveTimers.delete(id);
  },
}).enable();

// The system clock, counting the timers the keeper itself sets on it (its keep-alive scheduler).
const keeperTimers = new Set();
const countingClock = {
  now: () => systemClock.now(),
  setTimeout(callback, delayMs) {
    const timer = systemClock.setTimeout(() => {
      keeperTimers.delete(timer);
      callback();
    }, delayMs);
    keeperTimers.add(timer);
    return timer;
  },
  clearTimeout(timer) {
    keeperTimers.delete(timer);
    systemClock.clearTimeout(timer);
  },
};

const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: upstreamUrl }), clock: countingClock });
const app = createApp({ keeper, resource: '/reports/call-data', cookieSecret: randomBytes(32).toString('base64url') });
const server = app.listen(0, '127.0.0.1');
// The load's agent reuses idle sockets, also across the pauses for sampling. With Node's 5 s
// default the server closes an idle socket just as the client reuses it, and under CPU load that
// race ("socket hang up") was once lost on Node 22: a harness artefact, not a product failure.
// Idle sockets now outlive any pause of the soak, so every failure left is the app's.
server.keepAliveTimeout = 10 * 60_000;
server.headersTimeout = 10 * 60_000 + 1_000;
await once(server, 'listening');

function countBy(names) {
  const counts = {};
  for (const name of names) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

function listenerCounts(emitter) {
  return Object.fromEntries(emitter.eventNames().map((name) => [String(name), emitter.listenerCount(name)]));
}

async function figures() {
  // Several full GCs with macrotask turns between them, so FinalizationRegistry clean-ups
  // (AbortSignal.timeout's among them) run too.
  for (let round = 0; round < 4; round++) {
    globalThis.gc();
    await nextTurn();
    await sleep(10);
  }
  // Keep-alive renews all the time with 2-second tokens: measure between renewals (bounded wait),
  // and with nothing allocated between the last collection and the reading.
  for (let wait = 0; wait < 100 && keeper.stats.renewing > 0; wait++) await sleep(5);
  const renewingAtReading = keeper.stats.renewing;
  globalThis.gc();
  return {
    heapUsed: process.memoryUsage().heapUsed,
    renewingAtReading,
    heapSpaces: Object.fromEntries(getHeapSpaceStatistics().map((space) => [space.space_name, space.space_used_size])),
    activeResources: countBy(process.getActiveResourcesInfo()),
    keeperTimers: keeperTimers.size,
    liveTimers: liveTimers.size,
    liveTimersByDelayMs: countBy([...liveTimers.values()].map((timer) => String(Math.round(timer._idleTimeout)))),
    serverListeners: listenerCounts(server),
    processListeners: listenerCounts(process),
    keeper: keeper.stats,
    connections: await new Promise((resolve) => server.getConnections((error, count) => resolve(error ? -1 : count))),
  };
}

process.on('message', async (message) => {
  if (message?.type === 'sample') process.send({ type: 'sample', figures: await figures() });
  if (message?.type === 'close') {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await keeper.close();
    process.send({ type: 'closed', figures: await figures() }, () => process.disconnect());
  }
});
process.send({ type: 'listening', url: `http://127.0.0.1:${server.address().port}` });

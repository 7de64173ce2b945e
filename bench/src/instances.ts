/**
 * Scenario 6, many instances: 4 app processes share one session through one Redis
 * (`@tokenkeeper/redis`). The session's token dies (upstream) and every instance's clock passes
 * its expiry; then each instance sends a burst of concurrent requests on it at the same moment.
 * Target: one upstream refresh between all of them. The same with `RedisStore` but no
 * `RedisLock` shows what the lock is for (the upstream rotates refresh tokens: a second refresh
 * with the same refresh token is refused as reuse). What the lock costs is its settle time
 * against the same set-up without the lock on an upstream that does not rotate refresh tokens,
 * where every request succeeds without it too (target: at most 1.2×).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { type Child, startChild } from './child.js';
import type { Burst } from './instance-host.js';
import { addSummary, alternate, fixed, median, printTable, smoke, within } from './measure.js';
import { type RemoteUpstream, startUpstream } from './upstream.js';

const INSTANCES = 4;
const PER_INSTANCE = smoke ? 25 : 250;
const ROUNDS = smoke ? 1 : 5; // settle times swing with the machine's load: a median of five
const HOUR_MS = 3_600_000;
const TITLE = `many instances: ${INSTANCES} processes on one expired session through one Redis`;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A private redis-server on a free loopback port, without persistence; `undefined` when none is installed. */
export async function startRedis(): Promise<{ url: string; stop(): Promise<void> } | undefined> {
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = await within(
    new Promise<boolean>((resolve) => {
      child.once('error', () => resolve(false)); // not installed
      child.once('exit', () => resolve(false));
      child.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('Ready to accept connections')) resolve(true);
      });
    }),
    10_000,
    'starting redis-server',
  ).catch(() => false);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await within(exited, 5_000, 'stopping redis-server').catch(() => child.kill('SIGKILL'));
  };
  if (!started) {
    await stop();
    return undefined;
  }
  return { url: `redis://127.0.0.1:${port}`, stop };
}

interface Round {
  refreshCalls: number;
  reuse: number;
  rejected: number;
  failed: number;
  settleMs: number;
}

async function round(upstream: RemoteUpstream, instances: Child<number>[], key: string): Promise<Round> {
  await instances[0]!.call('login', [key]);
  await Promise.all(instances.map((instance) => instance.call('burst', [key, 1]))); // connections up
  await upstream.expireAccessTokens();
  await Promise.all(instances.map((instance) => instance.call('jump', [HOUR_MS + 1_000])));
  await upstream.resetStats();
  const start = performance.now();
  const bursts = await Promise.all(instances.map((instance) => instance.call<Burst>('burst', [key, PER_INSTANCE])));
  const settleMs = performance.now() - start;
  const stats = await upstream.stats();
  const ok = bursts.reduce((sum, burst) => sum + (burst.outcomes['200'] ?? 0), 0);
  return {
    refreshCalls: stats.refreshes + stats.refreshFailures,
    reuse: stats.reuseDetections,
    rejected: stats.rejected,
    failed: INSTANCES * PER_INSTANCE - ok,
    settleMs,
  };
}

export async function benchInstances(): Promise<void> {
  const redis = await startRedis();
  if (!redis) {
    printTable(TITLE, [{ measure: 'skipped', value: 'redis-server is not installed (apt-get install redis-server)' }]);
    addSummary('6 many instances', 'refresh calls', 'skipped: no redis-server', '', '1');
    return;
  }
  const upstream = await startUpstream({ protocol: 'refreshToken' });
  const lenient = await startUpstream({ protocol: 'refreshToken', rotateRefreshTokens: false });
  const groups: Child<number>[][] = [];
  const start = async (lock: boolean, upstream: RemoteUpstream) => {
    const prefix = `bench-${randomBytes(4).toString('hex')}`;
    const encryptionKey = randomBytes(32).toString('base64');
    const config = JSON.stringify({ redisUrl: redis.url, upstreamUrl: upstream.url, prefix, encryptionKey, lock });
    const group = await Promise.all(Array.from({ length: INSTANCES }, () => startChild<number>('instance-host', [config])));
    groups.push(group);
    return group;
  };
  let runs: Record<string, Round[]>;
  try {
    const withLock = await start(true, upstream);
    const withoutLock = await start(false, upstream);
    const withoutLockLenient = await start(false, lenient);
    let session = 0;
    runs = await alternate(
      {
        'RedisStore + RedisLock': () => round(upstream, withLock, `shared-${session++}`),
        'RedisStore, no lock': () => round(upstream, withoutLock, `shared-${session++}`),
        'no lock, no rotation': () => round(lenient, withoutLockLenient, `shared-${session++}`),
      },
      ROUNDS,
    );
  } finally {
    await Promise.all(groups.flat().map((instance) => instance.close()));
    await upstream.close();
    await lenient.close();
    await redis.stop();
  }
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const rows = Object.entries(runs).map(([name, results]) => ({
    instances: name,
    'refresh calls': fixed(mean(results.map((run) => run.refreshCalls)), 1),
    'refresh-token reuse': fixed(mean(results.map((run) => run.reuse)), 1),
    'upstream 401s': fixed(mean(results.map((run) => run.rejected)), 0),
    'requests that failed': fixed(mean(results.map((run) => run.failed)), 0),
    'time to settle ms (median)': fixed(median(results.map((run) => run.settleMs)), 0),
  }));
  printTable(`${TITLE} (${PER_INSTANCE} concurrent requests each, ${ROUNDS} rounds, means per round)`, rows);
  const locked = rows[0]!;
  const unlocked = rows[1]!;
  const settle = (name: string) => median(runs[name]!.map((run) => run.settleMs));
  const lockCost = settle('RedisStore + RedisLock') / settle('no lock, no rotation');
  printTable('what the lock costs: time to settle with the lock / without (every request succeeding in both)', [
    { measure: 'with RedisLock (ms, median)', value: fixed(settle('RedisStore + RedisLock'), 0) },
    { measure: 'without, refresh tokens not rotated (ms, median)', value: fixed(settle('no lock, no rotation'), 0) },
    { measure: 'ratio (target ≤ 1.2)', value: fixed(lockCost, 2) },
  ]);
  addSummary(
    '6 many instances (4 × Redis)',
    'refresh calls',
    locked['refresh calls'],
    `${unlocked['refresh calls']} without the lock`,
    '1',
  );
  addSummary(
    '6 many instances (4 × Redis)',
    'requests that failed',
    locked['requests that failed'],
    `${unlocked['requests that failed']} without the lock`,
    '0',
  );
  addSummary(
    '6 many instances (4 × Redis)',
    'time to settle ms',
    locked['time to settle ms (median)'],
    `${unlocked['time to settle ms (median)']} without the lock`,
  );
  addSummary(
    '6 many instances (4 × Redis)',
    'settle time, lock / no lock',
    fixed(lockCost, 2),
    'no lock on an upstream that does not rotate',
    '≤ 1.2',
  );
}

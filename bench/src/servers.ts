/**
 * Scenario 2, server overhead: an Express, a Koa and a Fastify route that each make one upstream call,
 * with tokenkeeper against a hard-coded header, under autocannon on loopback. Three processes: this
 * one runs autocannon, one runs the apps (`server-host.ts`), one the fake upstream. The variants
 * take turns (A B C, C B A, …) so the machine's drift hits each alike; each round's figure is
 * compared with the baseline's of the same round, and the median of those ratios is reported.
 *
 * Throughput on a shared 2-core machine swings with whatever else runs, so the table also gives
 * the app process's CPU time per request, which other load hardly moves: when the app is the
 * bottleneck, throughput goes as its inverse.
 */
import autocannon from 'autocannon';
import { startChild } from './child.js';
import { startRedis } from './instances.js';
import { addSummary, alternate, fixed, median, percent, printTable, smoke } from './measure.js';
import type { AppName, Framework, ServerHostReady, Variant } from './server-host.js';
import { startUpstream } from './upstream.js';

const CONNECTIONS = 32;
const TITLES: Record<Framework, string> = { express: 'Express', koa: 'Koa', fastify: 'Fastify' };
const DURATION_S = 1;
const ROUNDS = smoke ? 1 : 16;

interface Run {
  requestsPerSecond: number;
  /** CPU time of the app process per request, µs. */
  appCpuMicros: number;
  p50: number;
  p99: number;
  failures: number;
}

async function load(appCpuMicros: () => Promise<number>, url: string, headers: Record<string, string>, warmUp = false): Promise<Run> {
  const options: autocannon.Options = { url, connections: CONNECTIONS, headers };
  if (smoke) {
    options.amount = warmUp ? 32 : 160;
    options.sampleInt = 100; // else a run lasts at least autocannon's 1 s sampling tick
  } else {
    options.duration = warmUp ? 1 : DURATION_S;
  }
  const cpuBefore = await appCpuMicros();
  const start = performance.now();
  const result = await autocannon(options);
  const elapsedMs = performance.now() - start;
  const requests = result.requests.total;
  return {
    requestsPerSecond: (requests * 1000) / elapsedMs,
    appCpuMicros: ((await appCpuMicros()) - cpuBefore) / Math.max(1, requests),
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.errors + result.timeouts + result.non2xx,
  };
}

export async function benchServers(): Promise<void> {
  const upstream = await startUpstream({ protocol: 'refreshToken' });
  const redis = await startRedis(); // issue 4's figure: the Express route on the Redis store vs the memory store
  const host = await startChild<ServerHostReady>('server-host', redis ? [upstream.url, redis.url] : [upstream.url]);
  const appCpuMicros = () => host.call<number>('cpuMicros');
  try {
    for (const framework of ['express', 'koa', 'fastify'] as const) {
      const target = (variant: Variant) => {
        const name: AppName = `${framework}-${variant}`;
        const headers: Record<string, string> = variant === 'cookie' ? { cookie: host.ready.cookie[framework]! } : {};
        return { url: `http://127.0.0.1:${host.ready.ports[name]}/calls`, headers };
      };
      const variants = {
        'hard-coded header': target('baseline'),
        'hard-coded header, 30 s timeout signal': target('bounded'),
        'hard-coded header, empty middleware': target('middleware'),
        'tokenkeeper, sessionKey': target('sessionKey'),
        'tokenkeeper, signed cookie': target('cookie'),
        'tokenkeeper, token() + own fetch': target('token'),
        ...(framework === 'express' &&
          host.ready.ports['express-redis'] && {
            'tokenkeeper, sessionKey, Redis store': target('redis'),
            'tokenkeeper, sessionKey, Redis store, near cache': target('redisNear'),
          }),
      };
      for (const { url, headers } of Object.values(variants)) await load(appCpuMicros, url, headers, true);
      const runs = await alternate(
        Object.fromEntries(Object.entries(variants).map(([name, { url, headers }]) => [name, () => load(appCpuMicros, url, headers)])),
        ROUNDS,
      );
      const baseline = runs['hard-coded header']!;
      const floor = runs['hard-coded header, empty middleware']!;
      const rows = Object.entries(runs).map(([name, results]) => {
        const ratios = results.map((run, round) => run.requestsPerSecond / baseline[round]!.requestsPerSecond);
        const cpuRatios = results.map((run, round) => run.appCpuMicros / baseline[round]!.appCpuMicros);
        const floorRatios = results.map((run, round) => run.appCpuMicros / floor[round]!.appCpuMicros);
        return {
          variant: name,
          'req/s (median)': fixed(median(results.map((run) => run.requestsPerSecond)), 0),
          'of baseline (median of rounds)': percent(median(ratios), 1),
          'range over rounds': `${percent(Math.min(...ratios), 1)}–${percent(Math.max(...ratios), 1)}`,
          'app CPU µs/req': fixed(median(results.map((run) => run.appCpuMicros)), 0),
          'app CPU vs baseline': percent(median(cpuRatios), 1),
          'vs empty middleware': percent(median(floorRatios), 1),
          'p50 ms': fixed(median(results.map((run) => run.p50)), 1),
          'p99 ms': fixed(median(results.map((run) => run.p99)), 1),
          failures: results.reduce((sum, run) => sum + run.failures, 0),
        };
      });
      printTable(
        `server overhead: ${TITLES[framework]} route making one upstream call, autocannon ${CONNECTIONS} connections, ${ROUNDS} rounds${smoke ? '' : ` of ${DURATION_S} s`} per variant`,
        rows,
      );
      for (const row of rows.slice(3, 5)) {
        addSummary(
          '2 server overhead',
          `${framework}, ${row.variant}: req/s of baseline (app CPU per request; vs an empty middleware)`,
          `${row['of baseline (median of rounds)']} (${row['app CPU vs baseline']}; ${row['vs empty middleware']})`,
          `hard-coded header: ${rows[0]!['req/s (median)']} req/s, ${rows[0]!['app CPU µs/req']} µs`,
          framework === 'fastify' ? 'app CPU ≤ 102%' : '≥ 97%', // issue 15 set Fastify's target as app CPU
        );
      }
      for (const [name, label] of [
        ['tokenkeeper, sessionKey, Redis store', 'Redis store'],
        ['tokenkeeper, sessionKey, Redis store, near cache', 'Redis store with near cache'],
      ] as const) {
        const redisRuns = runs[name];
        if (!redisRuns) continue;
        const memory = runs['tokenkeeper, sessionKey']!;
        const ratio = median(redisRuns.map((run, round) => run.requestsPerSecond / memory[round]!.requestsPerSecond));
        addSummary(
          '4 Redis store',
          `express route, ${label} vs memory store: req/s`,
          percent(ratio, 1),
          'same route on the memory store, same run',
          '',
        );
      }
      if (rows.some((row) => row.failures > 0)) throw new Error(`server overhead: ${framework} answered errors`);
    }
  } finally {
    await host.close();
    await upstream.close();
    await redis?.stop();
  }
}

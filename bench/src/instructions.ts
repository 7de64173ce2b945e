/**
 * Scenario 8, instructions per request (opt-in: `--only=instructions`, needs valgrind): the
 * Express, Koa and Fastify apps of scenario 2 (and Express's on the Redis store, when
 * redis-server is on PATH), run under `valgrind --tool=callgrind`, each variant against its
 * hard-coded-header baseline in machine instructions per request rather than in CPU time.
 *
 * CPU time per request moves with whatever else the host runs (the same code came out 10 points
 * apart between runs on a busy day); an instruction count does not. What still moves it is the
 * app's own irregular work: a window of requests that holds a garbage collection or an optimizing
 * compile costs a quarter more. So each app runs in a process of its own, is warmed
 * uninstrumented (the JIT keeps optimizing for thousands of requests), then is measured in many
 * short windows of sequential requests, one app after another; the cheapest window of each
 * variant is its cost without those events (windows without one agree to 0.2%), and the median,
 * which includes them, is printed beside it. `TK_BENCH_FRAMEWORKS=express,koa` counts only some.
 *
 * The apps run with V8's `--single-threaded`, so compiles and collections happen on the thread
 * that is counted, as the work of one process.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild } from './child.js';
import { startRedis } from './instances.js';
import { addSummary, fixed, median, percent, printTable, smoke } from './measure.js';
import type { AppName, Framework, ServerHostReady, Variant } from './server-host.js';
import { startUpstream } from './upstream.js';

const TITLES: Record<Framework, string> = { express: 'Express', koa: 'Koa', fastify: 'Fastify' };
const VARIANTS: Record<string, Variant> = {
  'hard-coded header': 'baseline',
  'hard-coded header, empty middleware': 'middleware',
  'hard-coded header, sent a session cookie': 'baseline',
  'tokenkeeper, sessionKey': 'sessionKey',
  'tokenkeeper, signed cookie': 'cookie',
  'tokenkeeper, token() + own fetch': 'token',
  // Express only, with a redis-server on PATH: the same route on the Redis store.
  'tokenkeeper, sessionKey, Redis store': 'redis',
  'tokenkeeper, sessionKey, Redis store, near cache': 'redisNear',
};
/**
 * What the baseline is sent in its "sent a session cookie" row: a cookie of the size and shape of
 * tokenkeeper's, which it ignores. A browser sends its cookies whatever the app does with them,
 * so receiving one is not tokenkeeper's cost; this row shows what it is.
 */
const COOKIE_SHAPED = `tk.sid=${'A'.repeat(22)}.${'B'.repeat(43)}`;
/** Uninstrumented requests to each app before it is counted. */
const WARM_REQUESTS = smoke ? 10 : 6_000;
/** Instrumented windows per variant, after {@link DISCARDED} more counted as warm-up. */
const WINDOWS = smoke ? 2 : 24;
const DISCARDED = smoke ? 1 : 6;
const WINDOW_REQUESTS = smoke ? 5 : 100;

function hasValgrind(): boolean {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    execFileSync('callgrind_control', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function benchInstructions(): Promise<void> {
  const title = 'instructions per request under callgrind: each app variant against its hard-coded header';
  if (!hasValgrind()) {
    printTable(title, [{ framework: 'all', result: 'skipped: valgrind (with callgrind_control) is not on PATH' }]);
    return;
  }
  const upstream = await startUpstream({ protocol: 'refreshToken' });
  const redis = smoke ? undefined : await startRedis();
  const outDir = mkdtempSync(join(tmpdir(), 'tk-callgrind-'));
  // One kept-alive connection per app, dropped by this side after 4 s idle: the apps' servers
  // close theirs after 5 s, and a request sent on a connection as it closes would fail.
  const agent = new Agent({ keepAlive: true, maxSockets: 1, timeout: 4_000 });
  try {
    for (const framework of (process.env.TK_BENCH_FRAMEWORKS?.split(',') ?? Object.keys(TITLES)) as Framework[]) {
      // A smoke run only proves the counting works: two variants.
      const variants = Object.entries(VARIANTS).filter(([label, variant]) => {
        if (smoke) return label === 'hard-coded header' || label === 'tokenkeeper, sessionKey';
        return (variant !== 'redis' && variant !== 'redisNear') || (framework === 'express' && redis !== undefined);
      });
      const apps: Counted[] = [];
      // One app at a time, its windows back to back: a count does not drift with the machine, but
      // apps taking turns came out three times dearer, each idle between its windows.
      for (const [label, variant] of variants) {
        const app = await startCounted(framework, variant, label, label.endsWith('sent a session cookie'));
        try {
          await app.send(WARM_REQUESTS);
          app.control('-i', 'on');
          for (let window = 0; window < WINDOWS + DISCARDED; window++) {
            const before = app.instructions();
            await app.send(WINDOW_REQUESTS);
            if (window >= DISCARDED) app.windows.push((app.instructions() - before) / WINDOW_REQUESTS);
          }
        } finally {
          await app.host.close();
        }
        apps.push(app);
      }
      const baseline = apps[0]!;
      const rows = apps.map((app) => ({
        variant: app.label,
        'instructions/req, cheapest window': `${fixed(Math.min(...app.windows) / 1000, 1)}k`,
        'of baseline': percent(Math.min(...app.windows), Math.min(...baseline.windows)),
        'instructions/req, median window': `${fixed(median(app.windows) / 1000, 1)}k`,
        'median of baseline': percent(median(app.windows), median(baseline.windows)),
      }));
      printTable(`${title}: ${TITLES[framework]}, ${WINDOWS} windows of ${WINDOW_REQUESTS} sequential requests per variant`, rows);
      for (const row of rows.filter(
        ({ variant }) => variant.startsWith('tokenkeeper, sessionKey') || variant === 'tokenkeeper, signed cookie',
      )) {
        addSummary(
          '8 instructions',
          `${framework}, ${row.variant}: instructions per request of baseline (cheapest window)`,
          row['of baseline'],
          `hard-coded header: ${rows[0]!['instructions/req, cheapest window']}`,
          row.variant.includes('Redis') ? '≤ 105%' : '≤ 102%',
        );
      }
      const sentCookie = apps.find((app) => app.label === 'hard-coded header, sent a session cookie');
      const cookie = apps.find((app) => app.label === 'tokenkeeper, signed cookie');
      if (sentCookie && cookie) {
        addSummary(
          '8 instructions',
          `${framework}, tokenkeeper, signed cookie: of the hard-coded header sent the same size of cookie`,
          percent(Math.min(...cookie.windows), Math.min(...sentCookie.windows)),
          `hard-coded header sent it: ${fixed(Math.min(...sentCookie.windows) / 1000, 1)}k`,
        );
      }
    }
  } finally {
    agent.destroy();
    await upstream.close();
    await redis?.stop();
    rmSync(outDir, { recursive: true, force: true });
  }

  /**
   * One app in a process of its own under callgrind, instrumentation off until the count starts:
   * code the apps would share in one process (the framework's, the middleware's) sees only this
   * app's objects, as in production, rather than turning megamorphic across them.
   */
  type Counted = Awaited<ReturnType<typeof startCounted>>;
  async function startCounted(framework: Framework, variant: Variant, label: string, cookieShaped: boolean) {
    const name: AppName = `${framework}-${variant}`;
    // The Redis apps' process alone is given the Redis: in the others it would hold idle connections.
    const onRedis = variant === 'redis' || variant === 'redisNear';
    const host = await startChild<ServerHostReady>('server-host', onRedis ? [upstream.url, redis!.url] : [upstream.url], 180_000, {
      execPath: 'valgrind',
      execArgv: [
        '--tool=callgrind',
        '--instr-atstart=no',
        '-q',
        `--callgrind-out-file=${join(outDir, 'callgrind.%p')}`,
        process.execPath,
        '--single-threaded',
      ],
      env: { ...process.env, TK_BENCH_APPS: name },
    });
    const port = host.ready.ports[name];
    const cookie = variant === 'cookie' ? host.ready.cookie[framework]! : cookieShaped ? COOKIE_SHAPED : undefined;
    const headers: Record<string, string> = cookie === undefined ? {} : { cookie };
    const control = (...args: string[]) =>
      execFileSync('callgrind_control', [...args, String(host.pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return {
      label,
      host,
      control,
      windows: [] as number[],
      async send(count: number) {
        for (let index = 0; index < count; index++) await get(agent, port, headers);
      },
      /** Instructions the process has run while instrumented, over all its threads. */
      instructions() {
        let total = 0;
        for (const [, count] of control('-e', 'Ir').matchAll(/Th \d+\s+([\d,]+)/g)) total += Number(count!.replaceAll(',', ''));
        return total;
      },
    };
  }
}

/** One `GET /calls` on the kept-alive connection; rejects on anything but a 200. */
function get(agent: Agent, port: number, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = request({ host: '127.0.0.1', port, path: '/calls', agent, headers }, (response) => {
      response.resume();
      response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`GET /calls answered ${response.statusCode}`))));
    });
    call.on('error', reject);
    call.end();
  });
}

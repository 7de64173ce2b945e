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
 * which includes them, is printed beside it.
 *
 * Then the clients, each in a process of its own the same way (`call-host`): `session.fetch`
 * against `fetch` with a hard-coded header, and the axios interceptor against axios with one,
 * calling the fake upstream over loopback. `TK_BENCH_FRAMEWORKS=express,koa` counts only some
 * frameworks, and `clients` names the client rows (`TK_BENCH_FRAMEWORKS=clients`: those alone).
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
/**
 * The rows of each framework's table: the app counted, and (`sentCookie`) whether its requests
 * carry a cookie it ignores. `smoke`: the rows a smoke run counts; `target`: the rows summarized.
 */
interface Row {
  label: string;
  variant: Variant;
  sentCookie?: boolean;
  smoke?: boolean;
  target?: string;
}
const ROWS: Row[] = [
  { label: 'hard-coded header', variant: 'baseline', smoke: true },
  { label: 'hard-coded header, empty middleware', variant: 'middleware' },
  { label: 'hard-coded header, sent a session cookie', variant: 'baseline', sentCookie: true },
  { label: 'tokenkeeper, sessionKey', variant: 'sessionKey', smoke: true, target: '≤ 102%' },
  { label: 'tokenkeeper, signed cookie', variant: 'cookie', target: '≤ 102%' },
  { label: 'tokenkeeper, token() + own fetch', variant: 'token' },
  // Express only, with a redis-server on PATH: the same route on the Redis store.
  { label: 'tokenkeeper, sessionKey, Redis store', variant: 'redis', target: '≤ 105%' },
  { label: 'tokenkeeper, sessionKey, Redis store, near cache', variant: 'redisNear', target: '≤ 105%' },
];
const onRedis = (variant: Variant) => variant === 'redis' || variant === 'redisNear';
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
    const chosen = process.env.TK_BENCH_FRAMEWORKS?.split(',') ?? [...Object.keys(TITLES), 'clients'];
    for (const framework of chosen.filter((name) => name in TITLES) as Framework[]) {
      // A smoke run only proves the counting works: two variants.
      const rows = ROWS.filter((row) => (smoke ? row.smoke : !onRedis(row.variant) || (framework === 'express' && redis !== undefined)));
      const apps: Counted[] = [];
      // One app at a time, its windows back to back: a count does not drift with the machine, but
      // apps taking turns came out three times dearer, each idle between its windows.
      for (const row of rows) {
        const app = await startCounted(framework, row);
        try {
          app.windows.push(...(await countWindows(app, (count) => app.send(count))));
        } finally {
          await app.host.close();
        }
        apps.push(app);
      }
      const cheapest = (app: Counted) => Math.min(...app.windows);
      const baseline = apps[0]!;
      const table = apps.map((app) => ({
        variant: app.row.label,
        'instructions/req, cheapest window': `${fixed(cheapest(app) / 1000, 1)}k`,
        'of baseline': percent(cheapest(app), cheapest(baseline)),
        'instructions/req, median window': `${fixed(median(app.windows) / 1000, 1)}k`,
        'median of baseline': percent(median(app.windows), median(baseline.windows)),
      }));
      printTable(`${title}: ${TITLES[framework]}, ${WINDOWS} windows of ${WINDOW_REQUESTS} sequential requests per variant`, table);
      const hardCoded = `hard-coded header: ${fixed(cheapest(baseline) / 1000, 1)}k`;
      for (const app of apps.filter(({ row }) => row.target)) {
        const measure = `${framework}, ${app.row.label}: instructions per request of baseline (cheapest window)`;
        addSummary('8 instructions', measure, percent(cheapest(app), cheapest(baseline)), hardCoded, app.row.target);
      }
      const sentCookie = apps.find(({ row }) => row.sentCookie);
      const cookie = apps.find(({ row }) => row.variant === 'cookie');
      if (sentCookie && cookie) {
        addSummary(
          '8 instructions',
          `${framework}, ${cookie.row.label}: of the hard-coded header sent the same size of cookie`,
          percent(cheapest(cookie), cheapest(sentCookie)),
          `hard-coded header sent it: ${fixed(cheapest(sentCookie) / 1000, 1)}k`,
        );
      }
    }
    if (chosen.includes('clients')) await countClients();
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
  async function startCounted(framework: Framework, row: Row) {
    const { variant } = row;
    const name: AppName = `${framework}-${variant}`;
    // The Redis apps' process alone is given the Redis: in the others it would hold idle connections.
    const { host, control, instructions } = await underCallgrind<ServerHostReady>(
      'server-host',
      onRedis(variant) ? [upstream.url, redis!.url] : [upstream.url],
      outDir,
      { TK_BENCH_APPS: name },
    );
    const port = host.ready.ports[name];
    const cookie = variant === 'cookie' ? host.ready.cookie[framework]! : row.sentCookie ? COOKIE_SHAPED : undefined;
    const headers: Record<string, string> = cookie === undefined ? {} : { cookie };
    return {
      row,
      host,
      control,
      windows: [] as number[],
      async send(count: number) {
        for (let index = 0; index < count; index++) await get(agent, port, headers);
      },
      instructions,
    };
  }

  /**
   * `session.fetch` against `fetch` with a hard-coded header, and the axios interceptor against
   * axios with one: each caller in a process of its own (`call-host`), calling the fake upstream
   * (in its own process) over loopback and reading every body, counted as the apps are.
   */
  async function countClients(): Promise<void> {
    const counts = new Map<string, number[]>();
    for (const caller of CALLERS) {
      const counted = await underCallgrind<unknown>('call-host', [upstream.url, caller], outDir);
      try {
        counts.set(caller, await countWindows(counted, (count) => counted.host.call('send', [count], 600_000)));
      } finally {
        await counted.host.close();
      }
    }
    const row = (caller: string, base: string) => {
      const windows = counts.get(caller)!;
      const baseline = counts.get(base)!;
      return {
        caller,
        'instructions/call, cheapest window': `${fixed(Math.min(...windows) / 1000, 1)}k`,
        'of its baseline': percent(Math.min(...windows), Math.min(...baseline)),
        'instructions/call, median window': `${fixed(median(windows) / 1000, 1)}k`,
        'median of baseline': percent(median(windows), median(baseline)),
      };
    };
    printTable(
      `instructions per call under callgrind: each client against its hard-coded header, ${WINDOWS} windows of ${WINDOW_REQUESTS} sequential calls per caller`,
      [row('fetch', 'fetch'), row('session.fetch', 'fetch'), row('axios', 'axios'), row('axios+tokenkeeper', 'axios')],
    );
    for (const [caller, base] of [
      ['session.fetch', 'fetch'],
      ['axios+tokenkeeper', 'axios'],
    ] as const) {
      const cheapest = Math.min(...counts.get(caller)!);
      const baseline = Math.min(...counts.get(base)!);
      const measure = `${caller} against ${base} with a hard-coded header: instructions per call (cheapest window)`;
      addSummary('8 instructions', measure, percent(cheapest, baseline), `${base}: ${fixed(baseline / 1000, 1)}k`, '≤ 102%');
    }
  }
}

/** The callers `countClients` counts, each against the one before it that has a hard-coded header. */
const CALLERS = ['fetch', 'session.fetch', 'axios', 'axios+tokenkeeper'] as const;

/** A process under callgrind, instrumentation off until the count starts; `instructions()` is what it has run while on, over all its threads. */
async function underCallgrind<Ready>(entry: string, args: string[], outDir: string, env: Record<string, string> = {}) {
  const host = await startChild<Ready>(entry, args, 180_000, {
    execPath: 'valgrind',
    execArgv: [
      '--tool=callgrind',
      '--instr-atstart=no',
      '-q',
      `--callgrind-out-file=${join(outDir, 'callgrind.%p')}`,
      process.execPath,
      '--single-threaded',
    ],
    env: { ...process.env, ...env },
  });
  const control = (...argv: string[]) =>
    execFileSync('callgrind_control', [...argv, String(host.pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const instructions = () => {
    let total = 0;
    for (const [, count] of control('-e', 'Ir').matchAll(/Th \d+\s+([\d,]+)/g)) total += Number(count!.replaceAll(',', ''));
    return total;
  };
  return { host, control, instructions };
}

/**
 * Warms a counted process uninstrumented with {@link WARM_REQUESTS} of `send`, then counts
 * {@link WINDOWS} windows of {@link WINDOW_REQUESTS} after {@link DISCARDED} more: instructions per request of each.
 */
async function countWindows(
  counted: { control(...argv: string[]): string; instructions(): number },
  send: (count: number) => Promise<unknown>,
): Promise<number[]> {
  await send(WARM_REQUESTS);
  counted.control('-i', 'on');
  const windows: number[] = [];
  for (let window = 0; window < WINDOWS + DISCARDED; window++) {
    const before = counted.instructions();
    await send(WINDOW_REQUESTS);
    if (window >= DISCARDED) windows.push((counted.instructions() - before) / WINDOW_REQUESTS);
  }
  return windows;
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

/**
 * Soak (issue 5): 200 users, each with its own session cookie, call the Express example app
 * without pause for many real token lifetimes (2-second tokens). The app runs in a child process
 * started with --expose-gc (test/soak/server.mjs, on the built dist); the fake upstream and the
 * load run here. The server's heap after forced GCs, its timers and its listeners are sampled
 * once warmed up and again at the end, with the load paused both times.
 *
 * One soak runs in `beforeAll`; each `it` states one property of its figures.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { type FakeUpstream, type FakeUser, startFakeUpstream } from '@tokenkeeper/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const USERS = 200;
const TOKEN_LIFETIME_MS = 2_000;
/** Real time under load before the first sample: logins done, pools and JIT warm, several lifetimes crossed. */
const WARM_UP_MS = 8_000;
/** Real time under load between the two samples. */
const SOAK_MS = 45_000;
/** Each user's pause between requests, so two shared cores keep some air. */
const THINK_MS = 20;
/** Bounds each user's loop in count as well as in time. */
const MAX_REQUESTS_PER_USER_AND_PHASE = 5_000;

const SERVER_SCRIPT = fileURLToPath(new URL('./soak/server.mjs', import.meta.url));

interface Figures {
  /** V8 heap in use right after a forced full GC, read between keep-alive renewals where possible. */
  heapUsed: number;
  heapSpaces: Record<string, number>;
  /** Renewals still running at that reading (the wait for none is bounded). */
  renewingAtReading: number;
  activeResources: Record<string, number>;
  /** Timers the keeper set on its clock (its keep-alive scheduler). */
  keeperTimers: number;
  /** Every Timeout alive, ref()-ed or not, and by delay. */
  liveTimers: number;
  liveTimersByDelayMs: Record<string, number>;
  serverListeners: Record<string, number>;
  processListeners: Record<string, number>;
  keeper: { sessions: number; keepAlivePlanned: number; keepAliveRunning: number; renewing: number };
  connections: number;
}

interface SoakUser {
  upstream: FakeUser;
  cookie?: string;
}

interface Tally {
  requests: number;
  failures: string[];
}

// --- the server process ----------------------------------------------------------------------

class ServerProcess {
  readonly #child: ChildProcess;
  readonly #output: string[] = [];
  readonly exited: Promise<number | null>;
  url = '';

  constructor(upstreamUrl: string) {
    this.#child = fork(SERVER_SCRIPT, [], {
      execArgv: ['--expose-gc'],
      env: { ...process.env, SOAK_UPSTREAM_URL: upstreamUrl },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    for (const stream of [this.#child.stdout!, this.#child.stderr!])
      stream.on('data', (chunk: Buffer) => this.#output.push(chunk.toString()));
    this.exited = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
  }

  async listening(): Promise<void> {
    this.url = ((await this.#next('listening')) as { url: string }).url;
  }

  async sample(): Promise<Figures> {
    const answer = this.#next('sample');
    this.#child.send({ type: 'sample' });
    return ((await answer) as { figures: Figures }).figures;
  }

  async close(): Promise<Figures> {
    const answer = this.#next('closed');
    this.#child.send({ type: 'close' });
    return ((await answer) as { figures: Figures }).figures;
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill();
  }

  #next(type: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: { type?: string }) => {
        if (message?.type !== type) return;
        this.#child.off('exit', onExit);
        this.#child.off('message', onMessage);
        resolve(message);
      };
      const onExit = (code: number | null) => {
        this.#child.off('message', onMessage);
        reject(new Error(`the soak server exited (${code}) before '${type}':\n${this.#output.join('')}`));
      };
      this.#child.on('message', onMessage);
      this.#child.once('exit', onExit);
    });
  }
}

// --- the load --------------------------------------------------------------------------------

/** One HTTP exchange with the app (node:http, so the load keeps to a fixed pool of sockets). */
function exchange(agent: Agent, url: string, method: string, path: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; body: any; setCookies: string[] }>((resolve, reject) => {
    const request = httpRequest(`${url}${path}`, { method, headers, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {}
        const setCookie = response.headers['set-cookie'] ?? [];
        resolve({ status: response.statusCode!, body: parsed, setCookies: setCookie });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

async function logIn(agent: Agent, url: string, user: SoakUser): Promise<void> {
  const body = JSON.stringify({ username: user.upstream.username, password: user.upstream.password });
  const answer = await exchange(agent, url, 'POST', '/login', { 'content-type': 'application/json' }, body);
  const cookie = answer.setCookies.map((header) => header.split(';')[0]!).find((pair) => pair.startsWith('tk.sid='));
  if (answer.status !== 200 || !cookie) throw new Error(`login of ${user.upstream.username} answered ${answer.status}`);
  user.cookie = cookie;
}

/** Every user calls `/me` and `/data` in turn with its own cookie until `durationMs` have passed; each answer must be its own. */
async function runLoad(agent: Agent, url: string, users: SoakUser[], durationMs: number, tally: Tally): Promise<void> {
  let running = true;
  const stop = setTimeout(() => {
    running = false;
  }, durationMs);
  await Promise.all(
    users.map(async (user, index) => {
      for (let sent = 0; running && sent < MAX_REQUESTS_PER_USER_AND_PHASE; sent++) {
        const path = (index + sent) % 2 === 0 ? '/me' : '/data';
        try {
          const answer = await exchange(agent, url, 'GET', path, { cookie: user.cookie! });
          tally.requests++;
          if (answer.status !== 200 || answer.body?.userId !== user.upstream.id) {
            tally.failures.push(`${user.upstream.username} ${path}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 120)}`);
          }
        } catch (error) {
          tally.requests++;
          tally.failures.push(`${user.upstream.username} ${path}: ${(error as Error).message}`);
        }
        await new Promise((resolve) => setTimeout(resolve, THINK_MS + (index % 7)));
      }
    }),
  );
  clearTimeout(stop);
}

// --- the soak --------------------------------------------------------------------------------

const soakUsers: FakeUser[] = Array.from({ length: USERS }, (_, index) => ({
  id: 1_000 + index,
  username: `soak-user-${index}`,
  password: `soak-password-${index}`,
  accounts: [10_000 + index],
}));

let upstream: FakeUpstream | undefined;
let server: ServerProcess | undefined;
const agent = new Agent({ keepAlive: true, maxSockets: USERS });
const tally: Tally = { requests: 0, failures: [] };
let refreshesDuringSoak = 0;
let start: Figures;
let end: Figures;
let closed: Figures;
let exitCode: number | null | 'still running';

beforeAll(async () => {
  upstream = await startFakeUpstream({ protocol: 'refreshToken', accessTokenLifetimeMs: TOKEN_LIFETIME_MS, users: soakUsers });
  server = new ServerProcess(upstream.url);
  await server.listening();
  const users: SoakUser[] = soakUsers.map((upstreamUser) => ({ upstream: upstreamUser }));
  await Promise.all(users.map((user) => logIn(agent, server!.url, user)));

  await runLoad(agent, server.url, users, WARM_UP_MS, tally);
  start = await server.sample();
  const refreshesBefore = upstream.stats.refreshes;
  await runLoad(agent, server.url, users, SOAK_MS, tally);
  end = await server.sample();
  refreshesDuringSoak = upstream.stats.refreshes - refreshesBefore;

  agent.destroy();
  closed = await server.close();
  let bound: NodeJS.Timeout | undefined;
  exitCode = await Promise.race([
    server.exited,
    new Promise<'still running'>((resolve) => {
      bound = setTimeout(() => resolve('still running'), 15_000);
    }),
  ]);
  clearTimeout(bound);
  // The figures, for whoever reads the test log.
  const mb = (bytes: number) => (bytes / 1_048_576).toFixed(2);
  console.info(
    `soak: ${tally.requests} requests, ${tally.failures.length} failures, ${refreshesDuringSoak} upstream refreshes; ` +
      `heap ${mb(start.heapUsed)} → ${mb(end.heapUsed)} MB; sockets ${start.activeResources.TCPSocketWrap ?? 0} → ${end.activeResources.TCPSocketWrap ?? 0}; ` +
      `keeper timers ${start.keeperTimers} → ${end.keeperTimers} → ${closed.keeperTimers} after close; exit code ${exitCode}`,
  );
}, 115_000);

afterAll(async () => {
  agent.destroy();
  server?.kill();
  await upstream?.close();
});

describe(`a soak of ${USERS} users through the Express adapter with ${TOKEN_LIFETIME_MS / 1000}-second tokens`, () => {
  it("answers every request with 200 and the requesting user's own upstream user", () => {
    expect(tally.failures.slice(0, 10)).toEqual([]);
    expect(tally.requests).toBeGreaterThanOrEqual(USERS * 20);
  });

  it('crosses many token lifetimes: the upstream refreshed at least ten times per user between the samples', () => {
    expect(refreshesDuringSoak).toBeGreaterThanOrEqual(USERS * 10);
    expect(end.keeper.sessions).toBe(USERS);
  });

  it('returns the heap, after forced GCs, to within 10% of its size once warmed up', () => {
    expect(end.heapUsed).toBeLessThanOrEqual(start.heapUsed * 1.1);
  });

  it('grows no timer count', () => {
    // The keeper sleeps on one timer for all 200 sessions.
    expect([start.keeperTimers, end.keeperTimers].every((count) => count <= 1)).toBe(true);
    // Timers and immediates that would hold the process open.
    expect(end.activeResources.Timeout ?? 0).toBeLessThanOrEqual(start.activeResources.Timeout ?? 0);
    expect(end.activeResources.Immediate ?? 0).toBeLessThanOrEqual(start.activeResources.Immediate ?? 0);
  });

  it('grows no listener count on the server or the process', () => {
    expect(end.serverListeners).toEqual(start.serverListeners);
    expect(end.processListeners).toEqual(start.processListeners);
  });

  it('plans at most one keep-alive renewal per session, and runs no more renewals than the keep-alive bound while idle', () => {
    expect(end.keeper.keepAlivePlanned).toBeLessThanOrEqual(USERS);
    // With the load paused only keep-alive renews, at most keepAliveConcurrency (default 8) at once.
    expect(end.keeper.renewing).toBeLessThanOrEqual(8);
  });

  it('holds nothing open once the server and keeper are closed: the process exits by itself', () => {
    expect(closed.keeperTimers).toBe(0);
    expect(closed.keeper).toEqual({ sessions: 0, keepAlivePlanned: 0, keepAliveRunning: 0, renewing: 0 });
    expect(closed.activeResources).toEqual({ PipeWrap: 2 }); // only the IPC channel to this test
    expect(exitCode).toBe(0);
  });
});

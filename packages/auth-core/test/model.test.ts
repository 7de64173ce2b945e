/**
 * Model-based test of the engine: random interleavings of concurrent requests, clock jumps past
 * expiry, upstream rejections, renewal failures and successes, logins and logouts racing held-back
 * refreshes and logins, store evictions and (as the last step only) keeper close, against the
 * fake Sensu-style upstream (rotation with reuse detection that deletes the session, on refresh
 * and on logout: the least forgiving of the three). After every step:
 *
 * - at most one renewal (refresh or re-login) of the session is in flight at the upstream;
 * - no request carries a token issued before a logout that completed before the call started;
 * - every call settled (a Response or an AuthError) within its bound;
 * - no token reached a foreign origin;
 * - the upstream never saw a refresh token twice (reuse detection stays at zero);
 * - a logout that began while a login was answering left no session.
 *
 * Runs: FC_RUNS (default 1,000). A failure prints its seed and path; replay with
 * FC_SEED=<seed> FC_PATH=<path> npx --yes pnpm@10.34.9 exec vitest run packages/auth-core/test/model.test.ts
 */
import { createManualClock, type FakeUpstream, type RecordingServer, startFakeUpstream, startRecordingServer } from '@tokenkeeper/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, basicAuth, MemoryStore, TokenKeeper } from '../src/index.js';

const LIFETIME_MS = 5 * 60_000;
const TIMEOUT_MS = 100;
const SETTLE_BOUND_MS = 5_000;
const ADA = { username: 'ada', password: 'ada-password-1' };

type During = 'nothing' | 'logout' | 'login' | 'clock' | 'reject' | 'evict' | 'drop-token';
/** Two calls started a few milliseconds apart while the first one's upstream answer is held back. */
type Race = 'logout-during-refresh' | 'logout-during-login' | 'login-during-refresh';
type Step =
  | { kind: 'login' }
  | { kind: 'burst'; size: number; foreign: boolean; during: During }
  | { kind: 'clock'; ms: number }
  | { kind: 'reject'; count: number }
  | { kind: 'refresh-fault'; fault: 'status500' | 'timeout' | 'reset' | 'rotateThen500' | 'malformedJson' }
  | { kind: 'logout' }
  | { kind: 'close' }
  | { kind: 'evict' }
  | { kind: 'race'; race: Race; heldMs: number; gapMs: number };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'login' as const }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('burst' as const),
      size: fc.integer({ min: 1, max: 12 }),
      foreign: fc.boolean(),
      during: fc.constantFrom<During>('nothing', 'logout', 'login', 'clock', 'reject', 'evict', 'drop-token'),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ kind: fc.constant('clock' as const), ms: fc.integer({ min: 0, max: 3 * LIFETIME_MS }) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('reject' as const), count: fc.integer({ min: 1, max: 3 }) }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('refresh-fault' as const),
      fault: fc.constantFrom(
        'status500' as const,
        'timeout' as const,
        'reset' as const,
        'rotateThen500' as const,
        'malformedJson' as const,
      ),
    }),
    weight: 1,
  },
  { arbitrary: fc.constant({ kind: 'logout' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'evict' as const }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('race' as const),
      race: fc.constantFrom<Race>('logout-during-refresh', 'logout-during-login', 'login-during-refresh'),
      heldMs: fc.integer({ min: 5, max: 40 }),
      gapMs: fc.integer({ min: 0, max: 10 }),
    }),
    weight: 2,
  },
);

/** Random steps; `close` can only be the last one (nothing after it would check anything). */
const stepsArbitrary: fc.Arbitrary<Step[]> = fc
  .tuple(fc.array(stepArbitrary, { minLength: 1, maxLength: 10 }), fc.boolean())
  .map(([steps, close]) => (close ? [...steps, { kind: 'close' as const }] : steps));

/** What the instrumented fetch saw during one run. */
class Observer {
  seq = 0;
  renewalsInFlight = 0;
  explicitLogins = 0;
  maxRenewalsInFlight = 0;
  readonly issuedAt = new Map<string, number>();
  readonly logoutsDoneAt: number[] = [];
  readonly violations: string[] = [];

  /** The fetch the keeper uses: counts renewals in flight, notes issued tokens, checks each API request. */
  fetch(upstreamOrigin: string): typeof fetch {
    return async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      const isLogin = url.pathname === '/auth';
      const isRefresh = url.pathname === '/auth/token';
      if (url.origin === upstreamOrigin && !isLogin && !isRefresh && url.pathname !== '/auth/logout') this.#checkRequest(headers);
      const renewal = isRefresh || (isLogin && this.explicitLogins === 0);
      if (renewal) {
        this.renewalsInFlight++;
        this.maxRenewalsInFlight = Math.max(this.maxRenewalsInFlight, this.renewalsInFlight);
      }
      try {
        const response = await fetch(input, init);
        if (isLogin || isRefresh) await this.#noteIssued(response);
        return response;
      } finally {
        if (renewal) this.renewalsInFlight--;
      }
    };
  }

  async #noteIssued(response: Response): Promise<void> {
    try {
      const body = (await response.clone().json()) as { access_token?: unknown };
      if (typeof body.access_token === 'string') this.issuedAt.set(body.access_token, ++this.seq);
    } catch {
      // a faulty answer issues nothing usable
    }
  }

  #checkRequest(headers: Headers): void {
    const callStartedAt = Number(headers.get('x-call-seq'));
    const token = headers.get('authorization')?.replace(/^Bearer /, '');
    if (!token || !callStartedAt) return;
    const issued = this.issuedAt.get(token) ?? 0;
    const lastLogoutBeforeCall = Math.max(0, ...this.logoutsDoneAt.filter((at) => at < callStartedAt));
    if (issued < lastLogoutBeforeCall) {
      this.violations.push(`a call started after the logout at #${lastLogoutBeforeCall} sent a token issued at #${issued}`);
    }
  }
}

let upstream: FakeUpstream;
let foreign: RecordingServer;
const clock = createManualClock();

beforeAll(async () => {
  upstream = await startFakeUpstream({ protocol: 'basicAuth', clock });
  foreign = await startRecordingServer();
});
afterAll(async () => {
  await upstream.close();
  await foreign.close();
});

/** Settles `promise` within the bound, or records that it did not. */
async function settled(promise: Promise<unknown>, observer: Observer, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<'unsettled'>((resolve) => {
    timer = setTimeout(() => resolve('unsettled'), SETTLE_BOUND_MS);
  });
  try {
    const outcome = await Promise.race([
      promise.then(
        () => 'ok',
        (error: unknown) => error,
      ),
      bound,
    ]);
    if (outcome === 'unsettled') observer.violations.push(`${what} did not settle within ${SETTLE_BOUND_MS} ms`);
    else if (outcome !== 'ok' && !(outcome instanceof AuthError)) {
      observer.violations.push(`${what} failed with ${(outcome as Error)?.name}: ${(outcome as Error)?.message}`);
    }
  } finally {
    clearTimeout(timer);
  }
}

async function runSteps(steps: Step[], withCredentials: boolean): Promise<void> {
  const observer = new Observer();
  const store = new MemoryStore({ clock });
  const keeper = new TokenKeeper({
    protocol: basicAuth({ baseUrl: upstream.url }),
    clock,
    store,
    fetch: observer.fetch(upstream.url),
    timeoutMs: TIMEOUT_MS,
    renewalTimeoutMs: 4 * TIMEOUT_MS,
    retryIntervalMs: 0,
    allowedOrigins: [foreign.url], // so that foreign requests go out, and are checked for tokens
    ...(withCredentials && { credentials: () => ADA }),
  });
  const session = keeper.session('ada');
  const reuseBefore = upstream.stats.reuseDetections;
  const foreignBefore = foreign.requests.length;
  upstream.faults.clear();

  const logout = async () => {
    await session.logout().catch(() => {});
    observer.logoutsDoneAt.push(++observer.seq);
  };
  const login = async () => {
    observer.explicitLogins++;
    try {
      await settled(session.login(ADA), observer, 'login');
    } finally {
      observer.explicitLogins--;
    }
  };

  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /** The held-back call, then the other one `gapMs` later; a logout must win over what it meets. */
  const race = async ({ race, heldMs, gapMs }: Extract<Step, { kind: 'race' }>) => {
    if (race === 'logout-during-login') {
      upstream.faults.next('login', 'lateAnswer', { delayMs: heldMs });
      const first = login();
      await pause(gapMs);
      await Promise.all([first, logout()]);
      const status = (await session.state()).status;
      if (status !== 'none') observer.violations.push(`a login answered after a logout began, and the session is ${status}`);
      return;
    }
    await clock.advance(LIFETIME_MS); // expired: the next call refreshes
    upstream.faults.next('refresh', 'lateAnswer', { delayMs: heldMs });
    const first = settled(session.token(), observer, 'a token() racing');
    await pause(gapMs);
    await Promise.all([first, race === 'logout-during-refresh' ? logout() : login()]);
  };

  try {
    await login();
    for (const step of steps) {
      switch (step.kind) {
        case 'login':
          await login();
          break;
        case 'burst': {
          const calls = Array.from({ length: step.size }, (_, index) => {
            const headers = { 'x-call-seq': String(++observer.seq) };
            const target = step.foreign && index === 0 ? `${foreign.url}/collect` : '/api/core/v2/namespaces';
            return settled(
              session.fetch(target, { headers }).then((response) => response.arrayBuffer()),
              observer,
              'a request',
            );
          });
          const during = (async () => {
            if (step.during === 'logout') await logout();
            if (step.during === 'login') await login();
            if (step.during === 'clock') await clock.advance(LIFETIME_MS);
            if (step.during === 'reject') upstream.faults.next('api', 'expired', { count: 2 });
            if (step.during === 'evict') store.delete('ada');
            if (step.during === 'drop-token') upstream.expireAccessToken();
          })();
          await Promise.all([...calls, during]);
          break;
        }
        case 'clock':
          await clock.advance(step.ms);
          break;
        case 'reject':
          upstream.faults.next('api', 'expired', { count: step.count });
          break;
        case 'refresh-fault':
          upstream.faults.next('refresh', step.fault, { delayMs: 2 * TIMEOUT_MS });
          break;
        case 'logout':
          await logout();
          break;
        case 'evict':
          store.delete('ada');
          break;
        case 'close':
          await keeper.close();
          break;
        case 'race':
          await race(step);
          break;
      }
      expect(observer.violations).toEqual([]);
      expect(observer.maxRenewalsInFlight).toBeLessThanOrEqual(1);
      expect(upstream.stats.reuseDetections - reuseBefore).toBe(0);
      expect(foreign.requests.slice(foreignBefore).filter((request) => request.authorization !== undefined)).toEqual([]);
    }
  } finally {
    await keeper.close();
    upstream.faults.clear();
  }
}

describe('the engine under random interleavings (fast-check)', () => {
  it('keeps single flight, logout-wins, bounded waits, origin pinning and refresh-token uniqueness', async () => {
    await fc.assert(fc.asyncProperty(stepsArbitrary, fc.boolean(), runSteps), {
      numRuns: Number(process.env.FC_RUNS ?? 1_000),
      ...(process.env.FC_SEED && { seed: Number(process.env.FC_SEED) }),
      ...(process.env.FC_PATH && { path: process.env.FC_PATH }),
      endOnFailure: true,
    });
  }, 600_000);
});

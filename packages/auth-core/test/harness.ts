import { createManualClock, type FakeProtocol, type FakeUpstream, type FakeUpstreamOptions, startFakeUpstream } from '@tokenkeeper/testing';
import { afterEach } from 'vitest';
import { basicAuth, type Protocol, refreshToken, sessionRenew, TokenKeeper, type TokenKeeperOptions } from '../src/index.js';

/** What each protocol needs to be driven the same way by one test. */
export interface ProtocolCase {
  name: FakeProtocol;
  preset(baseUrl: string): Protocol<any>;
  credentials(user: 'ada' | 'grace'): unknown;
  wrongCredentials: unknown;
  /** The protected resource the fake upstream serves for this protocol. */
  resource: string;
  /** The status the upstream answers an expired token with. */
  expirySignal: number;
  /** The stats counter one renewal adds to. */
  renewals(upstream: FakeUpstream): number;
  lifetimeMs: number;
}

const PASSWORDS = { ada: 'ada-password-1', grace: 'grace-password-2' } as const;

export const PROTOCOLS: ProtocolCase[] = [
  {
    name: 'sessionRenew',
    preset: (baseUrl) => sessionRenew({ baseUrl }),
    credentials: (user) => ({ email: `${user}@example.test`, password: PASSWORDS[user], selectedOrg: 7 }),
    wrongCredentials: { email: 'ada@example.test', password: 'not-the-password', selectedOrg: 7 },
    resource: '/user/users/me',
    expirySignal: 403,
    renewals: (upstream) => upstream.stats.renewals,
    lifetimeMs: 15 * 60_000,
  },
  {
    name: 'refreshToken',
    preset: (baseUrl) => refreshToken({ baseUrl }),
    credentials: (user) => ({ username: user, password: PASSWORDS[user] }),
    wrongCredentials: { username: 'ada', password: 'not-the-password' },
    resource: '/reports/call-data',
    expirySignal: 401,
    renewals: (upstream) => upstream.stats.refreshes,
    lifetimeMs: 3_600_000,
  },
  {
    name: 'basicAuth',
    preset: (baseUrl) => basicAuth({ baseUrl }),
    credentials: (user) => ({ username: user, password: PASSWORDS[user] }),
    wrongCredentials: { username: 'ada', password: 'not-the-password' },
    resource: '/api/core/v2/namespaces',
    expirySignal: 401,
    renewals: (upstream) => upstream.stats.refreshes,
    lifetimeMs: 5 * 60_000,
  },
];

export function protocolCase(name: FakeProtocol): ProtocolCase {
  return PROTOCOLS.find((candidate) => candidate.name === name)!;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

export interface Setup {
  upstream: FakeUpstream;
  keeper: TokenKeeper<any>;
  clock: ReturnType<typeof createManualClock>;
  protocol: ProtocolCase;
}

/**
 * Starts a fake upstream and a keeper on one manual clock; both are closed after the test.
 * Keep-alive is off unless asked for, so upstream counters only move on requests.
 */
export async function setup(
  name: FakeProtocol,
  keeperOptions: Partial<TokenKeeperOptions<any>> = {},
  upstreamOptions: Partial<FakeUpstreamOptions> = {},
): Promise<Setup> {
  const protocol = protocolCase(name);
  const clock = createManualClock();
  const upstream = await startFakeUpstream({ protocol: name, clock, ...upstreamOptions });
  cleanups.push(() => upstream.close());
  const keeper = new TokenKeeper({ protocol: protocol.preset(upstream.url), clock, keepAlive: false, ...keeperOptions });
  cleanups.push(() => keeper.close());
  return { upstream, keeper, clock, protocol };
}

/** Runs `run` and returns the AuthError it rejected with (fails the test if it resolved). */
export async function rejection(run: () => Promise<unknown>): Promise<{ code: string; message: string; status: number }> {
  try {
    await run();
  } catch (error) {
    return error as { code: string; message: string; status: number };
  }
  throw new Error('expected a rejection');
}

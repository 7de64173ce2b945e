import { request as httpRequest, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basicAuth, type Protocol, refreshToken, sessionRenew, TokenKeeper, type TokenKeeperOptions } from '@tokenkeeper/auth-core';
import {
  createManualClock,
  type FakeProtocol,
  type FakeStats,
  type FakeUpstream,
  type FakeUpstreamOptions,
  type ManualClock,
  startFakeUpstream,
} from '@tokenkeeper/testing';
import { afterEach } from 'vitest';

// Framework-neutral fixtures shared by the tests of every server adapter (Express, Koa, Fastify, NestJS on both platforms).

export const SECRET = 'a-cookie-secret-of-at-least-32-characters';
/** The default name behind HTTPS (secure, path /, no domain): the browser refuses it from a sibling domain. */
export const COOKIE_NAME = '__Host-tk.sid';

type User = 'ada' | 'grace';
const PASSWORDS = { ada: 'ada-password-1', grace: 'grace-password-2' } as const;
export const USER_IDS = { ada: 1, grace: 2 } as const;

/** What a test needs to drive each protocol the same way. */
export interface ProtocolCase {
  name: FakeProtocol;
  preset(baseUrl: string): Protocol<any>;
  credentials(user: User): Record<string, unknown>;
  /** The protected resource of this upstream. */
  resource: string;
  /** The status the upstream rejects an expired token with. */
  expirySignal: number;
  lifetimeMs: number;
  /** Keeper options that let an expired token be replaced (sessionRenew can only log in again). */
  renewable: Partial<TokenKeeperOptions<any>>;
  /** Upstream calls that replaced an expired token. */
  replacements(stats: FakeStats): number;
  /** Upstream calls that replaced a still-valid token the upstream rejected. */
  renewals(stats: FakeStats): number;
}

export const PROTOCOLS: ProtocolCase[] = [
  {
    name: 'sessionRenew',
    preset: (baseUrl) => sessionRenew({ baseUrl }),
    credentials: (user) => ({ email: `${user}@example.test`, password: PASSWORDS[user], selectedOrg: 7 }),
    resource: '/user/users/me',
    expirySignal: 403,
    lifetimeMs: 15 * 60_000,
    renewable: { rememberCredentials: true },
    replacements: (stats) => stats.logins,
    renewals: (stats) => stats.renewals,
  },
  {
    name: 'refreshToken',
    preset: (baseUrl) => refreshToken({ baseUrl }),
    credentials: (user) => ({ username: user, password: PASSWORDS[user] }),
    resource: '/reports/call-data',
    expirySignal: 401,
    lifetimeMs: 3_600_000,
    renewable: {},
    replacements: (stats) => stats.refreshes,
    renewals: (stats) => stats.refreshes,
  },
  {
    name: 'basicAuth',
    preset: (baseUrl) => basicAuth({ baseUrl }),
    credentials: (user) => ({ username: user, password: PASSWORDS[user] }),
    resource: '/api/core/v2/namespaces',
    expirySignal: 401,
    lifetimeMs: 5 * 60_000,
    renewable: {},
    replacements: (stats) => stats.refreshes,
    renewals: (stats) => stats.refreshes,
  },
];

export interface AppOptions {
  keeper?: Partial<TokenKeeperOptions<any>>;
  upstream?: Partial<FakeUpstreamOptions>;
}

export interface TestApp {
  url: string;
  upstream: FakeUpstream;
  keeper: TokenKeeper<any>;
  clock: ManualClock;
  protocol: ProtocolCase;
  /** A new client with its own cookie jar. */
  browser(): Browser;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A fake upstream and a keeper on one manual clock, both closed after the test. Keep-alive is
 * off, so upstream counters move only on requests.
 */
export async function startUpstream(protocol: ProtocolCase, options: AppOptions = {}) {
  const clock = createManualClock();
  const upstream = await startFakeUpstream({ protocol: protocol.name, clock, ...options.upstream });
  cleanups.push(() => upstream.close());
  const keeper = new TokenKeeper({ protocol: protocol.preset(upstream.url), clock, keepAlive: false, ...options.keeper });
  cleanups.push(() => keeper.close());
  return { upstream, keeper, clock };
}

/** Waits until `server` listens (on 127.0.0.1, port 0), closes it after the test, and returns its URL. */
export async function serve(server: Server): Promise<string> {
  if (!server.listening) await new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export interface Answer {
  status: number;
  body: any;
  setCookies: string[];
}

/** A client that keeps the session cookie like a browser would (only `tk.sid`, only what the app sets). */
export class Browser {
  /** The `tk.sid=...` pair sent with each request, or a raw `Cookie` header set by the test. */
  cookie: string | undefined;
  readonly #url: string;

  constructor(url: string) {
    this.#url = url;
  }

  login(credentials: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    return this.request('POST', '/login', credentials, headers);
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
    return this.request('GET', path, undefined, headers);
  }

  /**
   * A GET sent with `node:http`, which writes each element of an array value as a header field
   * of its own and keeps a name's spelling (`fetch` would join them into one `cookie` field).
   * Sends no cookie of its own; keeps none.
   */
  getWithFields(path: string, headers: OutgoingHttpHeaders): Promise<Omit<Answer, 'setCookies'>> {
    return new Promise((resolve, reject) => {
      const sent = httpRequest(`${this.#url}${path}`, { headers, agent: false }, (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text) }));
      });
      sent.on('error', reject).end();
    });
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const response = await fetch(`${this.#url}${path}`, {
      method,
      headers: {
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...(this.cookie !== undefined && { cookie: this.cookie }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const setCookies = response.headers.getSetCookie();
    for (const header of setCookies) {
      const pair = header.split(';')[0]!;
      // The default name, or the plain one an app on plain HTTP (secure: false) gets.
      if (!pair.startsWith(`${COOKIE_NAME}=`) && !pair.startsWith('tk.sid=')) continue;
      this.cookie = /Max-Age=0/i.test(header) ? undefined : pair;
    }
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: response.status, body: parsed, setCookies };
  }
}

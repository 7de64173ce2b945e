import type { Clock } from '@tokenkeeper/auth-core';
import type { FakeSsoOptions } from './idp.js';
import { defaultUsers, type FakeUser } from './users.js';

/** The three upstream protocols described in PROTOCOLS.md. */
export type FakeProtocol = 'sessionRenew' | 'refreshToken' | 'basicAuth';

export interface FakeUpstreamOptions {
  /** Which upstream to imitate. Required. */
  protocol: FakeProtocol;
  /** The users who can log in. Default: ada (id 1), grace (id 2) and nomember (id 3), see the README. */
  users?: FakeUser[];
  /**
   * The source of time for expiry checks, issued expiry fields and the `Date` header. Default: the
   * system clock. Pass the keeper's manual clock to cross token lifetimes without waiting.
   */
  clock?: Clock;
  /** Added to `clock.now()` to get the server's time; positive = server clock ahead. Default 0. */
  clockSkewMs?: number;
  /**
   * The skew of the clock that writes the `Date` header. Default: `clockSkewMs` (the upstream
   * writes its own). Set it to 0 to imitate a reverse proxy (nginx does this by default) that
   * writes `Date` from a correct clock while the upstream's absolute expiry fields stay on its
   * skewed one.
   */
  dateClockSkewMs?: number;
  /**
   * Issue access tokens as JWTs (header.payload.signature, base64url) whose `iat` and `exp` are on
   * the server's clock, as many real upstreams do. The signature is random: only the fake checks it.
   * Default `false` (opaque tokens).
   */
  jwtAccessTokens?: boolean;
  /** Access token lifetime. Default: sessionRenew 15 min, refreshToken 3600 s, basicAuth 5 min. */
  accessTokenLifetimeMs?: number;
  /**
   * Refresh token lifetime. refreshToken: absolute, counted from login; rotated refresh tokens
   * inherit the login's expiry (default 30 days). basicAuth: sliding, counted from the last
   * refresh (default 12 h). Unused by sessionRenew.
   */
  refreshTokenLifetimeMs?: number;
  /** Real-time delay (not the clock's) before every answer. Default 0. */
  latencyMs?: number;
  /**
   * Issue a new refresh token on every refresh. Default true; `false` imitates old Sensu versions,
   * which echo the same refresh token.
   */
  rotateRefreshTokens?: boolean;
  /** refreshToken: the status an API call with an expired or unknown token gets, 401 or 403. Default 401. */
  expiredStatus?: 401 | 403;
  /** sessionRenew: answer logins and renewals with `{"token": "..."}` ('json', default) or a text/plain token ('text'). */
  loginBody?: 'json' | 'text';
  /**
   * sessionRenew: users sign in through a fake identity provider on another loopback port
   * (`upstream.idp`). The login call answers a redirect to its HTML sign-in form; the IdP posts
   * its answer back to `POST /saml/acs`, which issues the session token. `true` for the defaults.
   * Default: off (logins take the password directly).
   */
  sso?: boolean | FakeSsoOptions;
}

/** Options after defaults and validation. */
export interface ResolvedOptions {
  protocol: FakeProtocol;
  users: FakeUser[];
  clock: Clock;
  clockSkewMs: number;
  /** Undefined: the `Date` header follows `clockSkewMs` (also after `setClockSkew`). */
  dateClockSkewMs: number | undefined;
  jwtAccessTokens: boolean;
  accessTokenLifetimeMs: number;
  refreshTokenLifetimeMs: number;
  latencyMs: number;
  rotateRefreshTokens: boolean;
  expiredStatus: 401 | 403;
  loginBody: 'json' | 'text';
  sso: FakeSsoOptions | undefined;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

const LIFETIME_DEFAULTS: Record<FakeProtocol, { access: number; refresh: number }> = {
  sessionRenew: { access: 15 * MINUTE_MS, refresh: DAY_MS }, // no refresh tokens: unused
  refreshToken: { access: HOUR_MS, refresh: 30 * DAY_MS },
  // Current Sensu: 5-minute access tokens, refresh tokens valid 12 h after the last refresh.
  basicAuth: { access: 5 * MINUTE_MS, refresh: 12 * HOUR_MS },
};

/** The system clock; its timers are unref()-ed like auth-core's so they never hold a test run open. */
const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, delayMs) {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    timer.unref();
    return timer;
  },
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/** Applies defaults and throws a TypeError naming the first invalid option. */
export function resolveOptions(options: FakeUpstreamOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('startFakeUpstream: options must be an object');
  const { protocol } = options;
  if (protocol !== 'sessionRenew' && protocol !== 'refreshToken' && protocol !== 'basicAuth') {
    throw new TypeError(`protocol must be 'sessionRenew', 'refreshToken' or 'basicAuth', got ${String(protocol)}`);
  }
  const lifetimes = LIFETIME_DEFAULTS[protocol];
  const users = options.users ?? defaultUsers();
  if (!Array.isArray(users)) throw new TypeError('users must be an array of FakeUser');
  const clock = options.clock ?? systemClock;
  if (typeof clock.now !== 'function') throw new TypeError('clock must have a now() method');
  if (options.expiredStatus !== undefined && options.expiredStatus !== 401 && options.expiredStatus !== 403) {
    throw new TypeError(`expiredStatus must be 401 or 403, got ${String(options.expiredStatus)}`);
  }
  if (options.loginBody !== undefined && options.loginBody !== 'json' && options.loginBody !== 'text') {
    throw new TypeError(`loginBody must be 'json' or 'text', got ${String(options.loginBody)}`);
  }
  const sso = options.sso === true ? {} : options.sso || undefined;
  if (sso !== undefined) {
    if (protocol !== 'sessionRenew') throw new TypeError(`sso applies to sessionRenew only, not ${protocol}`);
    if (typeof sso !== 'object') throw new TypeError('sso must be true or an object');
    if (sso.response !== undefined && sso.response !== 'saml' && sso.response !== 'code') {
      throw new TypeError(`sso.response must be 'saml' or 'code', got ${String(sso.response)}`);
    }
    if (sso.mfaUsers !== undefined && !Array.isArray(sso.mfaUsers)) throw new TypeError('sso.mfaUsers must be an array of emails');
    if (sso.handoff !== undefined && sso.handoff !== 'body' && sso.handoff !== 'redirect') {
      throw new TypeError(`sso.handoff must be 'body' or 'redirect', got ${String(sso.handoff)}`);
    }
  }
  return {
    protocol,
    sso,
    users,
    clock,
    clockSkewMs: finite('clockSkewMs', options.clockSkewMs ?? 0),
    dateClockSkewMs: options.dateClockSkewMs === undefined ? undefined : finite('dateClockSkewMs', options.dateClockSkewMs),
    jwtAccessTokens: options.jwtAccessTokens ?? false,
    accessTokenLifetimeMs: positive('accessTokenLifetimeMs', options.accessTokenLifetimeMs ?? lifetimes.access),
    refreshTokenLifetimeMs: positive('refreshTokenLifetimeMs', options.refreshTokenLifetimeMs ?? lifetimes.refresh),
    latencyMs: nonNegative('latencyMs', options.latencyMs ?? 0),
    rotateRefreshTokens: options.rotateRefreshTokens ?? true,
    expiredStatus: options.expiredStatus ?? 401,
    loginBody: options.loginBody ?? 'json',
  };
}

export function finite(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`${name} must be a finite number, got ${String(value)}`);
  return value;
}

function positive(name: string, value: number): number {
  if (finite(name, value) <= 0) throw new TypeError(`${name} must be > 0, got ${value}`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (finite(name, value) < 0) throw new TypeError(`${name} must be >= 0, got ${value}`);
  return value;
}

import type { TokenSet } from './tokens.js';

/**
 * The renewal policy: pure functions of a token set, the time and a few plain facts. Requests,
 * keep-alive, `state()` and the renewal itself ask these and restate none of them; a table test
 * covers every boundary (`test/policy.test.ts`).
 */

/** The keeper options the policy reads. */
export interface PolicyOptions {
  /** Renewal starts this long before expiry, capped at a quarter of the lifetime. */
  refreshWindowMs: number;
  /** A token this close to expiry counts as expired, capped at a twentieth of the lifetime. */
  expiryMarginMs: number;
  /** After a failed renewal, no request starts another for this long. */
  retryIntervalMs: number;
  /** After a renewal a rejection caused, rejections within this long (capped at a tenth of the lifetime) are handed back. */
  rejectionBackoffMs: number;
}

/** What the keeper knows of one session besides its tokens, as plain values. */
export interface SessionFacts {
  /** A renewal of this session is running in this process. */
  renewing: boolean;
  /** When this session's last renewal failed here; `-Infinity` when none did. */
  failedAt: number;
  /**
   * The upstream asked not to be called before this time (`Retry-After` on a 429 or 503, OAuth's
   * `slow_down`); absent or `-Infinity` when it did not.
   */
  retryAt?: number;
  /** The protocol can refresh these tokens now, and the refresh token (if it rotates) is not spent. */
  refreshable: boolean;
  /** Credentials for a new login may be had for this key (a provider that has not said no, or remembered ones). */
  credentials: boolean;
  /** Another instance is presenting the refresh token now, and will store what it gets (the record's `refreshing`). */
  refreshingElsewhere?: boolean;
}

/** What a request does with the session it found. */
export type RequestAction =
  /** Send the current token. */
  | 'use'
  /** Send the current token, and start one renewal in the background. */
  | 'use-and-renew'
  /** The token cannot be sent: wait for the renewal. */
  | 'wait'
  /** The token cannot be sent and nothing can renew it: the session is over. */
  | 'ended'
  /** The token cannot be sent, and the upstream asked not to be called yet (`retryAt`): fail now, keep the session. */
  | 'backoff';

/** Facts a renewal has that a request does not. */
export interface RenewalFacts {
  refreshable: boolean;
  /** Credentials are at hand for a new login (the provider was asked, or they were remembered). */
  credentials: boolean;
  /** The upstream rejected the current token with the expiry signal: it is dead, whatever its expiry says. */
  rejected: boolean;
  /** How a refresh tried in this renewal failed: refused by the upstream, outcome unknown (a rotating refresh token may be spent), or transient. */
  refreshFailure?: 'refused' | 'unknown' | 'transient' | undefined;
  /**
   * Another instance took the refresh token out of the record to present it: `'running'` while
   * it may still store the answer, `'abandoned'` once that time has passed (the token may be spent).
   */
  refreshElsewhere?: 'running' | 'abandoned' | undefined;
}

/** What a renewal does next. */
export type RenewalAction =
  /** Present the refresh token (or renew the still-valid token). */
  | 'refresh'
  /** Log in again with the credentials at hand. */
  | 'relogin'
  /** Nothing can renew the session, but its token still serves until it expires. */
  | 'keep'
  /** Report the transient failure; the session stays and is tried again later. */
  | 'fail'
  /** Nothing can renew the session and its token is dead: end it. */
  | 'end'
  /** Another instance is presenting the refresh token: wait for the tokens it stores. */
  | 'await';

function lifetimeOf(tokens: TokenSet): number {
  return Math.max(0, tokens.expiresAt - tokens.issuedAt);
}

/** How long before expiry renewal starts. */
export function windowOf(tokens: TokenSet, options: PolicyOptions): number {
  return Math.min(options.refreshWindowMs, lifetimeOf(tokens) / 4);
}

/** How close to expiry a token stops being sent. */
export function marginOf(tokens: TokenSet, options: PolicyOptions): number {
  return Math.min(options.expiryMarginMs, lifetimeOf(tokens) / 20);
}

/** The token cannot be sent any more. */
export function mustRenew(tokens: TokenSet, now: number, options: PolicyOptions): boolean {
  return now >= tokens.expiresAt - marginOf(tokens, options);
}

/** The refresh token lapses within the window: a new login should replace it before it does. */
export function refreshLapsing(tokens: TokenSet, now: number, options: PolicyOptions): boolean {
  return tokens.refreshExpiresAt !== undefined && now >= tokens.refreshExpiresAt - windowOf(tokens, options);
}

/** When the session is due for renewal: before the access token expires, or before the refresh token lapses when a login can replace it. */
export function renewAt(tokens: TokenSet, credentials: boolean, options: PolicyOptions): number {
  const accessDue = tokens.expiresAt - windowOf(tokens, options);
  if (!credentials || tokens.refreshExpiresAt === undefined) return accessDue;
  return Math.min(accessDue, tokens.refreshExpiresAt - windowOf(tokens, options));
}

/**
 * The next time keep-alive should renew, or `undefined` when nothing can renew the session (its
 * token serves until it expires, and the next request after that ends it).
 */
export function nextRenewalAt(tokens: TokenSet, facts: SessionFacts, options: PolicyOptions): number | undefined {
  if (!facts.refreshable && !facts.credentials && facts.refreshingElsewhere !== true) return undefined;
  return Math.max(
    renewAt(tokens, facts.credentials, options),
    facts.failedAt + options.retryIntervalMs,
    facts.retryAt ?? Number.NEGATIVE_INFINITY,
  );
}

/**
 * Until this time every request uses the token, whatever the facts: it is before the earliest
 * moment a renewal could be due or the token could stop being sent. The hot path asks only this.
 */
export function freshUntil(tokens: TokenSet, options: PolicyOptions): number {
  const window = windowOf(tokens, options);
  const last = Math.min(
    tokens.expiresAt - Math.max(window, marginOf(tokens, options)),
    (tokens.refreshExpiresAt ?? Number.POSITIVE_INFINITY) - window,
  );
  return last;
}

/**
 * The one rule for a request: must → wait (or, while the upstream asked for a pause, fail now);
 * should → use and renew in the background; else use.
 */
export function requestAction(tokens: TokenSet, now: number, facts: SessionFacts, options: PolicyOptions): RequestAction {
  const renewable = facts.refreshable || facts.credentials || facts.refreshingElsewhere === true;
  const paused = now < (facts.retryAt ?? Number.NEGATIVE_INFINITY);
  if (mustRenew(tokens, now, options)) {
    if (facts.renewing) return 'wait';
    if (!renewable) return 'ended';
    return paused ? 'backoff' : 'wait';
  }
  const should =
    renewable &&
    !facts.renewing &&
    !paused &&
    now >= renewAt(tokens, facts.credentials, options) &&
    now - facts.failedAt >= options.retryIntervalMs;
  return should ? 'use-and-renew' : 'use';
}

/**
 * The one rule for a renewal: refresh while it can; else log in again; else keep a token that
 * still serves; else end. While another instance presents the refresh token, a token that still
 * serves is kept and a dead one waits for its answer.
 */
export function renewalAction(tokens: TokenSet, now: number, facts: RenewalFacts, options: PolicyOptions): RenewalAction {
  if (facts.refreshElsewhere === 'running') return !facts.rejected && !mustRenew(tokens, now, options) ? 'keep' : 'await';
  const failure = facts.refreshFailure;
  if (failure === undefined && facts.refreshable && !(facts.credentials && refreshLapsing(tokens, now, options))) return 'refresh';
  const usable = !facts.rejected && failure !== 'refused' && !mustRenew(tokens, now, options);
  if (failure === 'transient' && (usable || !facts.credentials)) return 'fail';
  if (facts.credentials) return 'relogin';
  return usable ? 'keep' : 'end';
}

/**
 * Whether a rejection of this token with the expiry signal should renew it. The first does; but
 * once a rejection has renewed the session, more rejections within `rejectionBackoffMs` (capped
 * at a tenth of the lifetime) are handed back unchanged: an upstream turning away a token it just
 * issued is refusing permission (session-renew and refresh-token upstreams share 403 with
 * "forbidden"), and renewing again would not help.
 *
 * @param renewedAt When a rejection last renewed this session into the token now rejected;
 * `-Infinity` when none did (a request still in flight with the replaced token joins that renewal).
 */
export function rejectionRenews(tokens: TokenSet, renewedAt: number, now: number, options: PolicyOptions): boolean {
  return now - renewedAt >= Math.min(options.rejectionBackoffMs, lifetimeOf(tokens) / 10);
}

/** What `session.state()` reports for a token set. */
export function statusOf(tokens: TokenSet, now: number, options: PolicyOptions): 'active' | 'expiring' | 'expired' {
  if (mustRenew(tokens, now, options)) return 'expired';
  return now >= tokens.expiresAt - windowOf(tokens, options) ? 'expiring' : 'active';
}

/** No lifetime shorter than this is learned: a token rejected younger was revoked, not expired. */
export const MIN_LEARNED_LIFETIME_MS = 30_000;

/**
 * A token the upstream rejected well before its planned expiry, and that a renewal then replaced
 * with one the upstream accepted, shows the real lifetime: the age it was rejected at. Returns
 * that lifetime, or `undefined` when the rejection teaches nothing: one near the planned expiry,
 * or one younger than {@link MIN_LEARNED_LIFETIME_MS} (a revoked token looks the same as an
 * expired one, and learning its age would plan every later token to expire at once).
 */
export function learnedLifetime(tokens: TokenSet, rejectedAt: number): number | undefined {
  const age = rejectedAt - tokens.issuedAt;
  return age >= MIN_LEARNED_LIFETIME_MS && age < 0.9 * lifetimeOf(tokens) ? age : undefined;
}

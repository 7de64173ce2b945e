import { AuthError, type UpstreamDetails } from './errors.js';
import type { UpstreamResponse } from './http.js';

/**
 * The tokens of one session. Times are epoch ms on the keeper's clock: lifetimes the upstream
 * gives in seconds are counted from when the request was sent, so a skewed upstream clock is
 * harmless.
 */
export interface TokenSet {
  accessToken: string;
  /** When the access token stops working, epoch ms. */
  expiresAt: number;
  /** When the access token was issued (the request's send time), epoch ms. */
  issuedAt: number;
  refreshToken?: string | undefined;
  /** When the refresh token stops working, epoch ms; undefined when the upstream does not say. */
  refreshExpiresAt?: number | undefined;
}

/** A token set as the store keeps it: with a version that grows by one on every write. */
export interface VersionedTokenSet extends TokenSet {
  version: number;
}

// RFC 6750 §2.1 b64token: the only characters that may follow "Bearer ".
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 16 * 1024;

/** Refuses a token that could break or inject into an HTTP header. */
export function checkToken(value: unknown, field: string, details: UpstreamDetails): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw malformed(`${field} is missing or not a string`, details);
  }
  if (value.length > MAX_TOKEN_LENGTH || !B64TOKEN.test(value)) {
    throw malformed(`${field} has characters outside RFC 6750's token set`, details);
  }
  return value;
}

export function malformed(what: string, details: UpstreamDetails): AuthError {
  return new AuthError('UPSTREAM_MALFORMED', `upstream ${details.operation} answer: ${what}`, { upstream: details });
}

/** How an upstream states when something expires; the first usable form wins, in this order. */
export interface ExpiryFacts {
  /** Seconds from now (counted from the request's send time). */
  lifetimeSeconds?: unknown;
  /** Epoch seconds on the upstream's clock. */
  epochSeconds?: unknown;
  /** An ISO 8601 date on the upstream's clock. */
  isoDate?: unknown;
}

/**
 * Turns what the upstream said into an epoch-ms expiry on the local clock.
 * Relative lifetimes count from the send time. Absolute times are converted to a lifetime
 * against the answer's own `Date` header when it has one, which cancels any clock skew.
 * Returns `undefined` when nothing was given, so the caller can apply a default lifetime.
 */
export function expiryFrom(facts: ExpiryFacts, response: UpstreamResponse, field: string, details: UpstreamDetails): number | undefined {
  if (facts.lifetimeSeconds !== undefined && facts.lifetimeSeconds !== null) {
    const seconds = facts.lifetimeSeconds;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds)) {
      throw malformed(`${field} lifetime is not a number`, details);
    }
    return checkFuture(response.sentAt + seconds * 1000, response.sentAt, field, details);
  }
  let absoluteMs: number | undefined;
  if (facts.epochSeconds !== undefined && facts.epochSeconds !== null) {
    if (typeof facts.epochSeconds !== 'number' || !Number.isFinite(facts.epochSeconds)) {
      throw malformed(`${field} is not a number of epoch seconds`, details);
    }
    absoluteMs = facts.epochSeconds * 1000;
  } else if (facts.isoDate !== undefined && facts.isoDate !== null) {
    absoluteMs = typeof facts.isoDate === 'string' ? Date.parse(facts.isoDate) : Number.NaN;
    if (!Number.isFinite(absoluteMs)) throw malformed(`${field} is not an ISO 8601 date`, details);
  }
  if (absoluteMs === undefined) return undefined;
  // `Date` has whole seconds and is truncated, so the upstream's true time may be up to 1 s later.
  const upstreamNow = Date.parse(response.headers.get('date') ?? '') + 999;
  const expiresAt = Number.isFinite(upstreamNow) ? response.sentAt + (absoluteMs - upstreamNow) : absoluteMs;
  return checkFuture(expiresAt, response.sentAt, field, details);
}

function checkFuture(expiresAt: number, sentAt: number, field: string, details: UpstreamDetails): number {
  if (expiresAt <= sentAt) throw malformed(`${field} is already in the past`, details);
  return expiresAt;
}

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
  /**
   * Facts about the signed-in user that the protocol learned with the tokens and
   * `session.state()` shows (an OpenID provider's validated ID token claims). Never a token or a
   * secret; at most 8 KB as JSON.
   */
  claims?: Readonly<Record<string, unknown>> | undefined;
  /**
   * A key that binds the tokens to this session (DPoP's key pair, as JWKs), kept by the protocol:
   * a secret like the tokens (a store encrypts it with them), never shown by `state()`.
   */
  proofKey?: Readonly<Record<string, unknown>> | undefined;
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

/** No upstream issues tokens for longer; an expiry beyond this is a mistake or an attack (it would never expire in a store). */
export const MAX_LIFETIME_MS = 366 * 24 * 3_600_000;

/**
 * Turns what the upstream said into an epoch-ms expiry on the local clock.
 * Relative lifetimes count from the send time. Absolute times are converted to a lifetime
 * against the answer's own `Date` header when it has one, which cancels the upstream's clock
 * skew — unless a proxy wrote that header from another clock, so an absolute time that lands in
 * the past or more than a year ahead is not believed: the answer is `undefined`, and the caller
 * applies its default lifetime (a login never fails over a clock).
 */
export function expiryFrom(facts: ExpiryFacts, response: UpstreamResponse, field: string, details: UpstreamDetails): number | undefined {
  if (facts.lifetimeSeconds !== undefined && facts.lifetimeSeconds !== null) {
    const seconds = facts.lifetimeSeconds;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds)) {
      throw malformed(`${field} lifetime is not a number`, details);
    }
    if (seconds <= 0) throw malformed(`${field} lifetime is not positive`, details);
    return response.sentAt + Math.min(seconds * 1000, MAX_LIFETIME_MS);
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
  const plausible = expiresAt > response.sentAt && expiresAt - response.sentAt <= MAX_LIFETIME_MS;
  return plausible ? expiresAt : undefined;
}

/**
 * The lifetime a JWT access token states on its issuer's own clock (`exp − iat`, in ms), or
 * `undefined` when the token is not a JWT with both claims. Nothing is verified: the lifetime
 * only plans renewals, and the upstream still judges the token.
 */
export function jwtLifetimeMs(accessToken: string): number | undefined {
  const first = accessToken.indexOf('.');
  const second = accessToken.indexOf('.', first + 1);
  if (first <= 0 || second < 0 || accessToken.indexOf('.', second + 1) >= 0) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(accessToken.slice(first + 1, second), 'base64url').toString('utf8'));
    const { exp, iat } = (claims ?? {}) as { exp?: unknown; iat?: unknown };
    if (typeof exp !== 'number' || typeof iat !== 'number' || !Number.isFinite(exp - iat) || exp <= iat) return undefined;
    return (exp - iat) * 1000;
  } catch {
    return undefined;
  }
}

/**
 * Checks a token set from any protocol (a preset or `defineProtocol`) before the keeper keeps
 * it: header-safe tokens, finite times, an expiry after issue, lifetimes of at most a year. A
 * JWT access token's own `exp − iat` and a lifetime the keeper learned from early rejections
 * shorten the planned expiry, never lengthen it. Messages never contain a token.
 */
export function acceptTokens(tokens: TokenSet, operation: 'login' | 'refresh', learnedLifetimeMs: number | undefined): TokenSet {
  // The upstream answered and may have rotated: a refusal here leaves the old refresh token in doubt.
  const details: UpstreamDetails = { operation, outcomeUnknown: true };
  if (typeof tokens !== 'object' || tokens === null) throw malformed('the protocol returned no token set', details);
  const accessToken = checkToken(tokens.accessToken, 'access token', details);
  const refreshToken = tokens.refreshToken === undefined ? undefined : checkToken(tokens.refreshToken, 'refresh token', details);
  const { issuedAt } = tokens;
  if (typeof issuedAt !== 'number' || !Number.isFinite(issuedAt)) throw malformed('issuedAt is not a finite time', details);
  if (typeof tokens.expiresAt !== 'number' || Number.isNaN(tokens.expiresAt) || tokens.expiresAt <= issuedAt) {
    throw malformed('expiresAt is not a time after issuedAt', details);
  }
  let lifetime = Math.min(tokens.expiresAt - issuedAt, MAX_LIFETIME_MS);
  const stated = jwtLifetimeMs(accessToken);
  if (stated !== undefined) lifetime = Math.min(lifetime, stated);
  if (learnedLifetimeMs !== undefined) lifetime = Math.min(lifetime, learnedLifetimeMs);
  let refreshExpiresAt = tokens.refreshExpiresAt;
  if (refreshExpiresAt !== undefined) {
    if (typeof refreshExpiresAt !== 'number' || Number.isNaN(refreshExpiresAt)) throw malformed('refreshExpiresAt is not a time', details);
    refreshExpiresAt = Math.min(refreshExpiresAt, issuedAt + MAX_LIFETIME_MS);
  }
  const claims = checkClaims(tokens.claims, details);
  const { proofKey } = tokens;
  if (proofKey !== undefined && (typeof proofKey !== 'object' || proofKey === null)) throw malformed('proofKey is not an object', details);
  return {
    accessToken,
    issuedAt,
    expiresAt: issuedAt + lifetime,
    refreshToken,
    refreshExpiresAt,
    ...(claims && { claims }),
    ...(proofKey && { proofKey }),
  };
}

const MAX_CLAIMS_BYTES = 8 * 1024;

/** Claims must be a plain JSON object a store can keep; anything else is the protocol's mistake, reported as malformed. */
function checkClaims(claims: unknown, details: UpstreamDetails): Readonly<Record<string, unknown>> | undefined {
  if (claims === undefined) return undefined;
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw malformed('claims are not an object', details);
  let json: string;
  try {
    json = JSON.stringify(claims);
  } catch {
    throw malformed('claims are not JSON', details);
  }
  if (Buffer.byteLength(json) > MAX_CLAIMS_BYTES) throw malformed(`claims are larger than ${MAX_CLAIMS_BYTES} bytes`, details);
  return JSON.parse(json) as Record<string, unknown>;
}

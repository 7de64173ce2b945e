import type { UpstreamClient } from '../http.js';
import type { TokenSet } from '../tokens.js';

/** One request on the protocol's origin, for a protocol that sends it itself ({@link Protocol.send}). */
export interface AuthorizedRequest {
  url: string;
  /** Method, headers, body and signal as the caller gave them; `redirect` is always `'manual'` (the keeper follows redirects). */
  init: RequestInit;
  /** The keeper's fetch: bounded, and network failures are already `UPSTREAM_UNAVAILABLE`. */
  fetch: typeof globalThis.fetch;
}

/**
 * How one upstream logs in, keeps a session alive and signals an expired token. The keeper
 * owns every decision (when to refresh, single flight, re-login); a protocol only speaks HTTP.
 * Build one with {@link defineProtocol} or a preset (`sessionRenew`, `refreshToken`, `basicAuth`).
 */
export interface Protocol<Credentials = unknown> {
  /** A short name used in events and errors. */
  readonly name: string;
  /** Absolute base URL; relative `session.fetch` inputs resolve against it. */
  readonly baseUrl: string;
  /** The only origin that ever receives a token. */
  readonly origin: string;
  /**
   * Whether a refresh hands out a new refresh token and refuses the old one. After a refresh
   * whose outcome is unknown (timeout, 5xx) such a session is logged in again when credentials
   * are at hand, because the old refresh token may already be spent.
   */
  readonly rotatesRefreshTokens: boolean;
  /** Checks the shape of credentials before any I/O; throws `INVALID_CREDENTIALS`. */
  checkCredentials(credentials: unknown): Credentials;
  /** Logs in; throws `INVALID_CREDENTIALS`, `NO_ACTIVE_MEMBERSHIP` or an upstream error. */
  login(credentials: Credentials, client: UpstreamClient): Promise<TokenSet>;
  /** Whether {@link refresh} can still succeed for these tokens at `now`. */
  canRefresh(tokens: TokenSet, now: number): boolean;
  /** Renews or refreshes; throws `SESSION_EXPIRED` when the upstream refuses. */
  refresh(tokens: TokenSet, client: UpstreamClient): Promise<TokenSet>;
  /**
   * Switches the session to another account of the same user (the refresh-token upstream's
   * "masquerade"), with a still-valid access token; resolves with the tokens bound to it. Absent
   * when the upstream cannot. Throws `ACCESS_DENIED` for an account the user may not use.
   */
  switchAccount?(tokens: TokenSet, accountId: number, client: UpstreamClient): Promise<TokenSet>;
  /** Credentials that log in to `accountId`: a re-login after a switch binds the switched account again. With {@link switchAccount}. */
  withAccount?(credentials: Credentials, accountId: number): Credentials;
  /** Ends the session upstream, when the upstream has a way to. */
  logout(tokens: TokenSet, client: UpstreamClient): Promise<void>;
  /** Checks credentials without starting a session; absent when the upstream cannot. */
  verifyCredentials?(credentials: Credentials, client: UpstreamClient): Promise<boolean>;
  /** The (lower-case) name of the header {@link authorize} writes: adapters strip it from requests that leave the origin. */
  readonly header: string;
  /** Puts the access token on an outgoing request. */
  authorize(headers: Headers, accessToken: string): void;
  /**
   * Sends one request on the origin with these tokens itself, for protocols whose authorization
   * depends on the request (DPoP: a signed proof of its method and URL, a server nonce to retry
   * with). When present, `session.fetch` uses it instead of {@link authorize} for each hop on the
   * origin; adapters that send requests themselves (axios) refuse such a protocol.
   */
  send?(request: AuthorizedRequest, tokens: TokenSet): Promise<Response>;
  /** Whether an API answer means "your token has expired" (refresh once, retry once). */
  isExpirySignal(answer: UpstreamAnswer): boolean;
}

/** What an expiry classifier reads: a fetch `Response` fits, and so does an adapter's own answer. */
export interface UpstreamAnswer {
  status: number;
  headers: Headers;
}

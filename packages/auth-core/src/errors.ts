import { errorChannel } from './diagnostics.js';

/** The HTTP status an adapter answers with for each {@link AuthErrorCode}. */
export const AUTH_ERROR_STATUS = {
  /** The upstream refused the credentials. */
  INVALID_CREDENTIALS: 401,
  /** The user is not an active member of any organisation (the session-renew upstream's 404 on login). */
  NO_ACTIVE_MEMBERSHIP: 403,
  /** The credentials are right but the upstream refuses this login, e.g. an account the user may not use (403 "No access to account"). */
  ACCESS_DENIED: 403,
  /**
   * A new login with the stored credentials (a `credentials` provider's, or remembered ones) was
   * refused: the password has probably expired under the organisation's policy, or was changed.
   * The session has ended; a person must log in again (and the stored credentials be updated).
   */
  STORED_CREDENTIALS_REFUSED: 401,
  /**
   * The identity provider in front of the upstream asks for something a program cannot give (a
   * one-time code, a consent page): a person must sign in. The message names what it asked for.
   */
  SSO_INTERACTION_REQUIRED: 401,
  /** No session under this key: log in first. */
  NOT_LOGGED_IN: 401,
  /** The session can no longer be renewed or refreshed and no credentials are at hand. */
  SESSION_EXPIRED: 401,
  /** The upstream answered a status the protocol does not expect. */
  UPSTREAM_REJECTED: 502,
  /** The upstream could not be reached, reset the connection, or answered 5xx/429. */
  UPSTREAM_UNAVAILABLE: 502,
  /** The upstream's answer could not be used: bad JSON, HTML, missing fields, unsafe token. */
  UPSTREAM_MALFORMED: 502,
  /** An upstream call, lock or store call took longer than its timeout. */
  TIMEOUT: 504,
  /** `session.fetch` was asked for an origin that is neither the upstream's nor in `allowedOrigins` (no request was sent). */
  ORIGIN_NOT_ALLOWED: 400,
  /** The session store cannot be used. */
  STORE_UNAVAILABLE: 503,
  /** The `credentials` provider threw or rejected while the keeper needed credentials for a new login. */
  CREDENTIALS_UNAVAILABLE: 503,
  /** `keeper.close()` was called: this keeper serves no more calls. */
  KEEPER_CLOSED: 503,
  /**
   * The upstream refuses this app as a client (OAuth `invalid_client`, `unauthorized_client`,
   * `invalid_scope`): the app's configuration is wrong, no user can fix it, and sessions are kept.
   */
  CLIENT_MISCONFIGURED: 500,
  /** A login redirect came back wrong: an unknown, expired or replayed `state`, or no code (OAuth's callback). */
  INVALID_CALLBACK: 400,
} as const;

export type AuthErrorCode = keyof typeof AUTH_ERROR_STATUS;

/** Safe facts about the upstream answer behind an error: never a body that may hold a token. */
export interface UpstreamDetails {
  /** Which call failed. */
  operation: 'login' | 'refresh' | 'logout' | 'verify' | 'request' | 'discovery' | 'switch';
  status?: number;
  contentType?: string;
  /**
   * Up to 200 characters of a 4xx/5xx body, with every secret of the call replaced by
   * `[redacted]`; only with the keeper's `errorBodyPreview` option, and never in `toJSON()`.
   */
  bodyPreview?: string;
  /**
   * The upstream may have acted on the call although its answer was lost or unusable (a timeout
   * after sending, a reset, a 5xx, a malformed success): a rotating refresh token presented in
   * such a call may be spent.
   */
  outcomeUnknown?: boolean;
  /**
   * The upstream asked not to be called again for this long, ms (`Retry-After` on a 429 or 503,
   * OAuth's `slow_down`): no renewal of the session is tried before, and a request that needs one
   * fails at once with `UPSTREAM_UNAVAILABLE`.
   */
  retryAfterMs?: number;
}

export interface AuthErrorOptions {
  cause?: unknown;
  upstream?: UpstreamDetails;
}

/**
 * The one error class of tokenkeeper. `code` is stable and `status` is what an HTTP adapter
 * should answer with. Messages are written by tokenkeeper, never copied from credentials or
 * token responses, so they are safe to log.
 *
 * @example
 * try { await session.login(credentials) }
 * catch (error) { if (error instanceof AuthError && error.code === 'INVALID_CREDENTIALS') … }
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  readonly code: AuthErrorCode;
  readonly status: number;
  readonly upstream: UpstreamDetails | undefined;

  constructor(code: AuthErrorCode, message: string, options: AuthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = AUTH_ERROR_STATUS[code];
    this.upstream = options.upstream;
    if (errorChannel.hasSubscribers) errorChannel.publish(this);
  }

  /** What logs and HTTP answers may carry: never a body preview, even a scrubbed one. */
  toJSON(): { name: string; code: AuthErrorCode; status: number; message: string; upstream?: Omit<UpstreamDetails, 'bodyPreview'> } {
    let upstream: Omit<UpstreamDetails, 'bodyPreview'> | undefined;
    if (this.upstream) {
      const { bodyPreview: _left, ...safe } = this.upstream;
      upstream = safe;
    }
    return { name: this.name, code: this.code, status: this.status, message: this.message, ...(upstream && { upstream }) };
  }
}

/**
 * The one wording of each code that describes a session's state rather than an upstream answer,
 * used by core and every adapter alike.
 */
export const AUTH_ERROR_MESSAGES = {
  NOT_LOGGED_IN: 'no session: log in first',
  SESSION_EXPIRED: 'the session has expired: log in again',
  KEEPER_CLOSED: 'the TokenKeeper is closed',
  CREDENTIALS_UNAVAILABLE: 'the credentials provider failed',
  STORED_CREDENTIALS_REFUSED: 'the upstream refused the stored credentials (an expired or changed password?): log in again',
} as const satisfies Partial<Record<AuthErrorCode, string>>;

/** An AuthError with the one message of its code ({@link AUTH_ERROR_MESSAGES}). */
export function stateError(code: keyof typeof AUTH_ERROR_MESSAGES, options?: AuthErrorOptions): AuthError {
  return new AuthError(code, AUTH_ERROR_MESSAGES[code], options);
}

export function isAuthError(value: unknown, code?: AuthErrorCode): value is AuthError {
  return value instanceof AuthError && (code === undefined || value.code === code);
}

/** Turns whatever a call threw into an AuthError, keeping AuthErrors as they are. */
export function toAuthError(error: unknown, fallback: AuthErrorCode, message: string): AuthError {
  if (error instanceof AuthError) return error;
  return new AuthError(fallback, message, { cause: error });
}
